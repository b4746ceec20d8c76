# Generates sim/mdmcmd/appleschema.go from apple/device-management (mdm/commands/*.yaml).
# Run with the repository fetched by the workplace tool (fetch github:apple/device-management); needs PyYAML. Not part of the build: appleschema.go is checked in.
import yaml, subprocess, sys
repo = '/work/.mirror/apple+device-management/repo'
def show(p): return subprocess.check_output(['git','-C',repo,'show','HEAD:'+p])
commit = subprocess.check_output(['git','-C',repo,'rev-parse','HEAD']).decode().strip()
plats = ['iOS','macOS','visionOS']
files = subprocess.check_output(['git','-C',repo,'ls-tree','--name-only','HEAD','mdm/commands/']).decode().split()
cmds = {}
for f in files:
    d = yaml.safe_load(show(f)); p = d.get('payload', {}); so = p.get('supportedOS', {})
    row = []
    for pl in plats:
        s = so.get(pl)
        if s is None or s.get('introduced') == 'n/a': row.append('modeUnsupported')
        else: row.append({'allowed':'modeAllowed','forbidden':'modeForbidden'}.get((s.get('userenrollment') or {}).get('mode'),'modeNone'))
    cmds[p['requesttype']] = (row, f)
def keyrow(k):
    so = k.get('supportedOS') or {}
    out = []
    for pl in plats:
        s = so.get(pl) or {}
        intro = str(s.get('introduced','') or '')
        sup = intro != 'n/a'
        ue = (s.get('userenrollment') or {}).get('mode') == 'forbidden'
        out.append('{Supported: %s, Since: %s, UEForbidden: %s}' % ('true' if sup else 'false', '"%s"' % (intro if sup else ''), 'true' if ue else 'false'))
    return out
di = yaml.safe_load(show('mdm/commands/information.device.yaml'))
queries = di['payloadkeys'][0]['subkeys'][0]['subkeys']
resp = {k['key']: k for k in di['responsekeys'][0]['subkeys']}
si = yaml.safe_load(show('mdm/commands/information.security.yaml'))
sec = si['responsekeys'][0]['subkeys']
w = []
w.append('// Code generated from github.com/apple/device-management (mdm/commands/*.yaml) at commit %s. DO NOT EDIT.' % commit)
w.append('//\n// Data only: each command\'s payload-level supportedOS.<platform>.userenrollment.mode,\n// and the per-key supportedOS (introduced, userenrollment) of the DeviceInformation\n// queries (information.device.yaml, payloadkeys Queries; a key whose response key\n// alone is marked is marked too) and of the SecurityInfo response keys\n// (information.security.yaml). "n/a" in Apple\'s introduced field is Supported false.\n// The generator is a small program kept outside this repository.\n\npackage mdmcmd\n')
w.append('// schemaCommit is the apple/device-management commit the tables were generated from.\nconst schemaCommit = "%s"\n' % commit)
w.append('// commandModes maps RequestType -> user-enrollment mode on iOS, macOS, visionOS.\nvar commandModes = map[string][3]ueMode{')
for rt in sorted(cmds):
    row, f = cmds[rt]
    w.append('\t%-36s {%s}, // %s' % ('"%s":' % rt, ', '.join(row), f))
w.append('}\n')
def emit(name, doc, keys, extra=lambda k: k):
    w.append(doc); w.append('var %s = map[string]keySupport{' % name)
    for k in keys:
        row = keyrow(extra(k))
        w.append('\t"%s": {%s},' % (k['key'], ', '.join(row)))
    w.append('}\n')
def merge(q):
    r = resp.get(q['key'])
    if not r or not r.get('supportedOS'): return q
    q = dict(q); so = {p: dict((q.get('supportedOS') or {}).get(p) or {}) for p in plats}
    for p in plats:
        rs = (r['supportedOS'] or {}).get(p) or {}
        if (rs.get('userenrollment') or {}).get('mode') == 'forbidden': so[p]['userenrollment'] = {'mode': 'forbidden'}
    q['supportedOS'] = so; return q
emit('deviceInfoKeys', '// deviceInfoKeys maps each DeviceInformation query key to its support on iOS, macOS, visionOS.', queries, merge)
emit('securityInfoKeys', '// securityInfoKeys maps each top-level SecurityInfo response key to its support on iOS, macOS, visionOS.', sec)
print('\n'.join(w))
