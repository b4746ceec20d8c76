// Code generated from github.com/apple/device-management (mdm/commands/*.yaml) at commit b6202ca2fbd31286a52eb160b67a4db7b4fe1f1f. DO NOT EDIT.
//
// Data only: each command's payload-level supportedOS.<platform>.userenrollment.mode,
// and the per-key supportedOS (introduced, userenrollment) of the DeviceInformation
// queries (information.device.yaml, payloadkeys Queries; a key whose response key
// alone is marked is marked too) and of the SecurityInfo response keys
// (information.security.yaml). "n/a" in Apple's introduced field is Supported false.
// The generator is a small program kept outside this repository.

package mdmcmd

// schemaCommit is the apple/device-management commit the tables were generated from.
const schemaCommit = "b6202ca2fbd31286a52eb160b67a4db7b4fe1f1f"

// commandModes maps RequestType -> user-enrollment mode on iOS, macOS, visionOS.
var commandModes = map[string][3]ueMode{
	"AccountConfiguration":            {modeUnsupported, modeForbidden, modeUnsupported}, // mdm/commands/account.configuration.yaml
	"ActivationLockBypassCode":        {modeForbidden, modeForbidden, modeForbidden},     // mdm/commands/device.activationlock.bypasscode.yaml
	"ActiveNSExtensions":              {modeUnsupported, modeForbidden, modeUnsupported}, // mdm/commands/application.extensions.listactive.yaml
	"ApplyRedemptionCode":             {modeForbidden, modeUnsupported, modeUnsupported}, // mdm/commands/application.redemptioncode.yaml
	"AvailableOSUpdates":              {modeForbidden, modeForbidden, modeUnsupported},   // mdm/commands/system.update.available.yaml
	"CertificateList":                 {modeAllowed, modeAllowed, modeAllowed},           // mdm/commands/certificate.list.yaml
	"ClearActivationLockBypassCode":   {modeForbidden, modeForbidden, modeForbidden},     // mdm/commands/device.activationlock.clearbypasscode.yaml
	"ClearPasscode":                   {modeForbidden, modeUnsupported, modeForbidden},   // mdm/commands/passcode.clear.yaml
	"ClearRestrictionsPassword":       {modeForbidden, modeUnsupported, modeUnsupported}, // mdm/commands/device.restrictions.clearpassword.yaml
	"ContentCachingInformation":       {modeUnsupported, modeForbidden, modeUnsupported}, // mdm/commands/information.contentcaching.yaml
	"DeclarativeManagement":           {modeAllowed, modeAllowed, modeAllowed},           // mdm/commands/declarativemanagement.yaml
	"DeleteUser":                      {modeForbidden, modeForbidden, modeUnsupported},   // mdm/commands/user.delete.yaml
	"DeviceConfigured":                {modeForbidden, modeForbidden, modeForbidden},     // mdm/commands/device.configured.yaml
	"DeviceInformation":               {modeAllowed, modeAllowed, modeAllowed},           // mdm/commands/information.device.yaml
	"DeviceLocation":                  {modeForbidden, modeUnsupported, modeUnsupported}, // mdm/commands/device.lostmode.location.yaml
	"DeviceLock":                      {modeAllowed, modeForbidden, modeAllowed},         // mdm/commands/device.lock.yaml
	"DisableLostMode":                 {modeForbidden, modeUnsupported, modeUnsupported}, // mdm/commands/device.lostmode.disable.yaml
	"DisableRemoteDesktop":            {modeUnsupported, modeForbidden, modeUnsupported}, // mdm/commands/remotedesktop.disable.yaml
	"EnableLostMode":                  {modeForbidden, modeUnsupported, modeUnsupported}, // mdm/commands/device.lostmode.enable.yaml
	"EnableRemoteDesktop":             {modeUnsupported, modeForbidden, modeUnsupported}, // mdm/commands/remotedesktop.enable.yaml
	"EraseDevice":                     {modeForbidden, modeForbidden, modeForbidden},     // mdm/commands/device.erase.yaml
	"InstallApplication":              {modeAllowed, modeAllowed, modeAllowed},           // mdm/commands/application.install.yaml
	"InstallEnterpriseApplication":    {modeUnsupported, modeAllowed, modeUnsupported},   // mdm/commands/application.install.enterprise.yaml
	"InstallMedia":                    {modeAllowed, modeForbidden, modeUnsupported},     // mdm/commands/media.install.yaml
	"InstallProfile":                  {modeAllowed, modeAllowed, modeAllowed},           // mdm/commands/profile.install.yaml
	"InstallProvisioningProfile":      {modeAllowed, modeAllowed, modeAllowed},           // mdm/commands/profile.provisioning.install.yaml
	"InstalledApplicationList":        {modeAllowed, modeForbidden, modeAllowed},         // mdm/commands/application.installed.list.yaml
	"InviteToProgram":                 {modeForbidden, modeForbidden, modeUnsupported},   // mdm/commands/application.invitetoprogram.yaml
	"LOMDeviceRequest":                {modeUnsupported, modeForbidden, modeUnsupported}, // mdm/commands/lom.devicerequest.yaml
	"LOMSetupRequest":                 {modeUnsupported, modeForbidden, modeUnsupported}, // mdm/commands/lom.setuprequest.yaml
	"LogOutUser":                      {modeForbidden, modeUnsupported, modeUnsupported}, // mdm/commands/user.logout.yaml
	"ManagedApplicationAttributes":    {modeAllowed, modeUnsupported, modeAllowed},       // mdm/commands/managed.application.attributes.yaml
	"ManagedApplicationConfiguration": {modeAllowed, modeAllowed, modeAllowed},           // mdm/commands/managed.application.configuration.yaml
	"ManagedApplicationFeedback":      {modeAllowed, modeForbidden, modeAllowed},         // mdm/commands/managed.application.feedback.yaml
	"ManagedApplicationList":          {modeAllowed, modeAllowed, modeAllowed},           // mdm/commands/application.managed.list.yaml
	"ManagedMediaList":                {modeAllowed, modeUnsupported, modeUnsupported},   // mdm/commands/media.managed.list.yaml
	"NSExtensionMappings":             {modeUnsupported, modeForbidden, modeUnsupported}, // mdm/commands/application.extensions.mappings.yaml
	"OSUpdateStatus":                  {modeForbidden, modeForbidden, modeUnsupported},   // mdm/commands/system.update.status.yaml
	"PlayLostModeSound":               {modeForbidden, modeUnsupported, modeUnsupported}, // mdm/commands/device.lostmode.playsound.yaml
	"ProfileList":                     {modeAllowed, modeAllowed, modeAllowed},           // mdm/commands/profile.list.yaml
	"ProvisioningProfileList":         {modeAllowed, modeAllowed, modeAllowed},           // mdm/commands/profile.provisioning.list.yaml
	"RefreshCellularPlans":            {modeForbidden, modeUnsupported, modeUnsupported}, // mdm/commands/device.esim.yaml
	"RemoveApplication":               {modeAllowed, modeForbidden, modeAllowed},         // mdm/commands/application.remove.yaml
	"RemoveMedia":                     {modeAllowed, modeUnsupported, modeUnsupported},   // mdm/commands/media.remove.yaml
	"RemoveProfile":                   {modeAllowed, modeAllowed, modeAllowed},           // mdm/commands/profile.remove.yaml
	"RemoveProvisioningProfile":       {modeAllowed, modeAllowed, modeAllowed},           // mdm/commands/profile.provisioning.remove.yaml
	"RequestMirroring":                {modeAllowed, modeAllowed, modeUnsupported},       // mdm/commands/mirroring.request.yaml
	"RequestUnlockToken":              {modeForbidden, modeUnsupported, modeUnsupported}, // mdm/commands/passcode.unlocktoken.yaml
	"RestartDevice":                   {modeForbidden, modeForbidden, modeUnsupported},   // mdm/commands/device.restart.yaml
	"Restrictions":                    {modeForbidden, modeUnsupported, modeForbidden},   // mdm/commands/device.restrictions.list.yaml
	"RotateFileVaultKey":              {modeUnsupported, modeForbidden, modeUnsupported}, // mdm/commands/rotate.file.vault.key.yaml
	"ScheduleOSUpdate":                {modeForbidden, modeForbidden, modeUnsupported},   // mdm/commands/system.update.schedule.yaml
	"ScheduleOSUpdateScan":            {modeUnsupported, modeForbidden, modeUnsupported}, // mdm/commands/system.update.scan.yaml
	"SecurityInfo":                    {modeAllowed, modeAllowed, modeAllowed},           // mdm/commands/information.security.yaml
	"SetAutoAdminPassword":            {modeUnsupported, modeForbidden, modeUnsupported}, // mdm/commands/set.auto.admin.password.yaml
	"SetFirmwarePassword":             {modeUnsupported, modeForbidden, modeUnsupported}, // mdm/commands/passcode.firmware.set.yaml
	"SetRecoveryLock":                 {modeUnsupported, modeForbidden, modeUnsupported}, // mdm/commands/passcode.recovery.set.yaml
	"Settings":                        {modeAllowed, modeAllowed, modeAllowed},           // mdm/commands/settings.yaml
	"ShutDownDevice":                  {modeForbidden, modeForbidden, modeUnsupported},   // mdm/commands/device.shutdown.yaml
	"StopMirroring":                   {modeForbidden, modeForbidden, modeUnsupported},   // mdm/commands/mirroring.stop.yaml
	"UnlockUserAccount":               {modeUnsupported, modeForbidden, modeUnsupported}, // mdm/commands/user.unlock.yaml
	"UserConfigured":                  {modeForbidden, modeUnsupported, modeUnsupported}, // mdm/commands/user.configured.yaml
	"UserList":                        {modeForbidden, modeForbidden, modeUnsupported},   // mdm/commands/user.list.yaml
	"ValidateApplications":            {modeAllowed, modeUnsupported, modeAllowed},       // mdm/commands/application.validate.yaml
	"VerifyFirmwarePassword":          {modeUnsupported, modeForbidden, modeUnsupported}, // mdm/commands/passcode.firmware.verify.yaml
	"VerifyRecoveryLock":              {modeUnsupported, modeForbidden, modeUnsupported}, // mdm/commands/passcode.recovery.verify.yaml
}

// deviceInfoKeys maps each DeviceInformation query key to its support on iOS, macOS, visionOS.
var deviceInfoKeys = map[string]keySupport{
	"UDID":                                  {{Supported: true, Since: "", UEForbidden: true}, {Supported: true, Since: "", UEForbidden: true}, {Supported: true, Since: "", UEForbidden: true}},
	"ProvisioningUDID":                      {{Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "11.3", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}},
	"OrganizationInfo":                      {{Supported: true, Since: "7.0", UEForbidden: false}, {Supported: true, Since: "10.11", UEForbidden: false}, {Supported: true, Since: "", UEForbidden: false}},
	"MDMOptions":                            {{Supported: true, Since: "7.0", UEForbidden: false}, {Supported: true, Since: "11.0", UEForbidden: false}, {Supported: true, Since: "", UEForbidden: false}},
	"LastCloudBackupDate":                   {{Supported: true, Since: "8.0", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "", UEForbidden: true}},
	"AwaitingConfiguration":                 {{Supported: true, Since: "9.0", UEForbidden: true}, {Supported: true, Since: "10.11", UEForbidden: true}, {Supported: true, Since: "2.0", UEForbidden: true}},
	"iTunesStoreAccountIsActive":            {{Supported: true, Since: "7.0", UEForbidden: true}, {Supported: true, Since: "10.9", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}},
	"iTunesStoreAccountHash":                {{Supported: true, Since: "8.0", UEForbidden: true}, {Supported: true, Since: "10.10", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}},
	"DeviceName":                            {{Supported: true, Since: "", UEForbidden: false}, {Supported: true, Since: "", UEForbidden: false}, {Supported: true, Since: "", UEForbidden: false}},
	"OSVersion":                             {{Supported: true, Since: "", UEForbidden: false}, {Supported: true, Since: "", UEForbidden: false}, {Supported: true, Since: "", UEForbidden: false}},
	"SupplementalOSVersionExtra":            {{Supported: true, Since: "16.1", UEForbidden: false}, {Supported: true, Since: "13.0", UEForbidden: false}, {Supported: true, Since: "", UEForbidden: false}},
	"BuildVersion":                          {{Supported: true, Since: "", UEForbidden: false}, {Supported: true, Since: "", UEForbidden: false}, {Supported: true, Since: "", UEForbidden: false}},
	"SupplementalBuildVersion":              {{Supported: true, Since: "16.1", UEForbidden: false}, {Supported: true, Since: "13.0", UEForbidden: false}, {Supported: true, Since: "", UEForbidden: false}},
	"ModelName":                             {{Supported: true, Since: "", UEForbidden: false}, {Supported: true, Since: "", UEForbidden: false}, {Supported: true, Since: "", UEForbidden: false}},
	"Model":                                 {{Supported: true, Since: "", UEForbidden: false}, {Supported: true, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"ModelNumber":                           {{Supported: true, Since: "16.4", UEForbidden: false}, {Supported: true, Since: "13.3", UEForbidden: false}, {Supported: true, Since: "", UEForbidden: false}},
	"IsAppleSilicon":                        {{Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "12.0", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"ProductName":                           {{Supported: true, Since: "", UEForbidden: false}, {Supported: true, Since: "", UEForbidden: false}, {Supported: true, Since: "", UEForbidden: false}},
	"SerialNumber":                          {{Supported: true, Since: "", UEForbidden: true}, {Supported: true, Since: "", UEForbidden: true}, {Supported: true, Since: "", UEForbidden: true}},
	"DeviceCapacity":                        {{Supported: true, Since: "", UEForbidden: false}, {Supported: true, Since: "", UEForbidden: false}, {Supported: true, Since: "", UEForbidden: false}},
	"AvailableDeviceCapacity":               {{Supported: true, Since: "", UEForbidden: false}, {Supported: true, Since: "", UEForbidden: false}, {Supported: true, Since: "", UEForbidden: false}},
	"IMEI":                                  {{Supported: true, Since: "", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"MEID":                                  {{Supported: true, Since: "", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"ModemFirmwareVersion":                  {{Supported: true, Since: "", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"CellularTechnology":                    {{Supported: true, Since: "4.2.6", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"BatteryLevel":                          {{Supported: true, Since: "5.0", UEForbidden: false}, {Supported: true, Since: "13.3", UEForbidden: false}, {Supported: true, Since: "", UEForbidden: false}},
	"HasBattery":                            {{Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "13.3", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"IsSupervised":                          {{Supported: true, Since: "6.0", UEForbidden: false}, {Supported: true, Since: "10.15", UEForbidden: false}, {Supported: true, Since: "", UEForbidden: false}},
	"IsMultiUser":                           {{Supported: true, Since: "9.3", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"IsDeviceLocatorServiceEnabled":         {{Supported: true, Since: "7.0", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "", UEForbidden: false}},
	"IsActivationLockEnabled":               {{Supported: true, Since: "7.0", UEForbidden: true}, {Supported: true, Since: "10.15", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}},
	"IsActivationLockSupported":             {{Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "10.15", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}},
	"IsDoNotDisturbInEffect":                {{Supported: true, Since: "7.0", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "", UEForbidden: true}},
	"DeviceID":                              {{Supported: false, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"EASDeviceIdentifier":                   {{Supported: true, Since: "7.0", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "", UEForbidden: false}},
	"IsCloudBackupEnabled":                  {{Supported: true, Since: "7.1", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "", UEForbidden: true}},
	"ActiveManagedUsers":                    {{Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "10.11", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"OSUpdateSettings":                      {{Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "10.11", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}},
	"LocalHostName":                         {{Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "10.11", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"HostName":                              {{Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "10.11", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"AutoSetupAdminAccounts":                {{Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "10.11", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}},
	"SystemIntegrityProtectionEnabled":      {{Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "10.12", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"SupportsLOMDevice":                     {{Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "11.0", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"IsMDMLostModeEnabled":                  {{Supported: true, Since: "9.3", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"MaximumResidentUsers":                  {{Supported: true, Since: "9.3", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"EstimatedResidentUsers":                {{Supported: true, Since: "14.0", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"QuotaSize":                             {{Supported: true, Since: "13.4", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"ResidentUsers":                         {{Supported: true, Since: "13.4", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"UserSessionTimeout":                    {{Supported: true, Since: "14.5", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"TemporarySessionTimeout":               {{Supported: true, Since: "14.5", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"TemporarySessionOnly":                  {{Supported: true, Since: "14.5", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"ManagedAppleIDDefaultDomains":          {{Supported: true, Since: "16.0", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"OnlineAuthenticationGracePeriod":       {{Supported: true, Since: "16.0", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"SkipLanguageAndLocaleSetupForNewUsers": {{Supported: true, Since: "16.2", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"PushToken":                             {{Supported: true, Since: "9.3", UEForbidden: true}, {Supported: true, Since: "10.12", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"DiagnosticSubmissionEnabled":           {{Supported: true, Since: "9.3", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "", UEForbidden: false}},
	"AppAnalyticsEnabled":                   {{Supported: true, Since: "9.3", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "", UEForbidden: false}},
	"TimeZone":                              {{Supported: true, Since: "14.0", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "2.0", UEForbidden: false}},
	"ICCID":                                 {{Supported: true, Since: "", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"BluetoothMAC":                          {{Supported: true, Since: "", UEForbidden: true}, {Supported: true, Since: "", UEForbidden: true}, {Supported: true, Since: "", UEForbidden: true}},
	"WiFiMAC":                               {{Supported: true, Since: "", UEForbidden: true}, {Supported: true, Since: "", UEForbidden: true}, {Supported: true, Since: "", UEForbidden: true}},
	"EthernetMAC":                           {{Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}},
	"CurrentCarrierNetwork":                 {{Supported: true, Since: "", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"SIMCarrierNetwork":                     {{Supported: true, Since: "", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"SubscriberCarrierNetwork":              {{Supported: true, Since: "5.0", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"CarrierSettingsVersion":                {{Supported: true, Since: "", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"PhoneNumber":                           {{Supported: true, Since: "", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"DataRoamingEnabled":                    {{Supported: true, Since: "5.0", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"VoiceRoamingEnabled":                   {{Supported: true, Since: "5.0", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"PersonalHotspotEnabled":                {{Supported: true, Since: "7.0", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"IsNetworkTethered":                     {{Supported: true, Since: "10.3", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"IsRoaming":                             {{Supported: true, Since: "4.2", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"SubscriberMCC":                         {{Supported: true, Since: "4.2.6", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"SubscriberMNC":                         {{Supported: true, Since: "4.2.6", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"CurrentMCC":                            {{Supported: true, Since: "", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"CurrentMNC":                            {{Supported: true, Since: "", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"ServiceSubscriptions":                  {{Supported: true, Since: "12.0", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"PINRequiredForEraseDevice":             {{Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "11.0", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}},
	"PINRequiredForDeviceLock":              {{Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "11.0", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}},
	"SupportsiOSAppInstalls":                {{Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "11.0", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"SoftwareUpdateDeviceID":                {{Supported: true, Since: "15.0", UEForbidden: true}, {Supported: true, Since: "12.0", UEForbidden: true}, {Supported: true, Since: "", UEForbidden: true}},
	"SoftwareUpdateSettings":                {{Supported: true, Since: "14.5", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"AccessibilitySettings":                 {{Supported: true, Since: "16.0", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"DevicePropertiesAttestation":           {{Supported: true, Since: "16.0", UEForbidden: false}, {Supported: true, Since: "14.0", UEForbidden: false}, {Supported: true, Since: "", UEForbidden: false}},
	"EACSPreflight":                         {{Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "13.3", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}},
}

// securityInfoKeys maps each top-level SecurityInfo response key to its support on iOS, macOS, visionOS.
var securityInfoKeys = map[string]keySupport{
	"HardwareEncryptionCaps":                           {{Supported: true, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "", UEForbidden: false}},
	"PasscodePresent":                                  {{Supported: true, Since: "", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "", UEForbidden: true}},
	"PasscodeCompliant":                                {{Supported: true, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "", UEForbidden: false}},
	"PasscodeCompliantWithProfiles":                    {{Supported: true, Since: "", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "", UEForbidden: true}},
	"PasscodeLockGracePeriod":                          {{Supported: true, Since: "9.3.2", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "", UEForbidden: true}},
	"PasscodeLockGracePeriodEnforced":                  {{Supported: true, Since: "9.3.2", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "", UEForbidden: true}},
	"AutoLockTime":                                     {{Supported: true, Since: "17.0", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"FDE_Enabled":                                      {{Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "10.9", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"FDE_HasPersonalRecoveryKey":                       {{Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "10.9", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}},
	"FDE_HasInstitutionalRecoveryKey":                  {{Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "10.9", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}},
	"FDE_PersonalRecoveryKeyCMS":                       {{Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "10.13", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}},
	"FDE_PersonalRecoveryKeyDeviceKey":                 {{Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "10.13", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}},
	"SystemIntegrityProtectionEnabled":                 {{Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "10.12", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"FirewallSettings":                                 {{Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "10.12", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"FirmwarePasswordStatus":                           {{Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "10.13", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"ManagementStatus":                                 {{Supported: true, Since: "13.0", UEForbidden: false}, {Supported: true, Since: "10.13.2", UEForbidden: false}, {Supported: true, Since: "", UEForbidden: false}},
	"SecureBoot":                                       {{Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "10.15", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"RemoteDesktopEnabled":                             {{Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "10.14.4", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}},
	"AuthenticatedRootVolumeEnabled":                   {{Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "11.0", UEForbidden: false}, {Supported: false, Since: "", UEForbidden: false}},
	"BootstrapTokenAllowedForAuthentication":           {{Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "11.0", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}},
	"BootstrapTokenRequiredForSoftwareUpdate":          {{Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "11.0", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}},
	"BootstrapTokenRequiredForKernelExtensionApproval": {{Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "11.0", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}},
	"IsRecoveryLockEnabled":                            {{Supported: false, Since: "", UEForbidden: false}, {Supported: true, Since: "11.5", UEForbidden: true}, {Supported: false, Since: "", UEForbidden: false}},
}
