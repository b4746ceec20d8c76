// Package ci holds no code: its tests run scripts/ci/enrollsim-action.sh,
// the script of the GitHub Action (action.yml at the repository's root) and
// of the GitLab template (ci/gitlab/enrollsim.gitlab-ci.yml), with bash
// against a fake release on a loopback file server, and check both YAML
// files' structure.
package ci
