package local

import (
	"os"
	"strings"
)

// serviceAccountDir is where Kubernetes mounts a pod's service account
// token.
const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// ProductionSign returns what in environ, or on this machine, says smexec
// runs in AWS or Kubernetes rather than on a developer's machine, or ""
// when nothing does: a local secrets file must not stand in for Secrets
// Manager there.
func ProductionSign(environ []string) string {
	return productionSign(environ, serviceAccountDir)
}

// productionSign is ProductionSign with the service account folder as a
// parameter, so tests can point it elsewhere.
func productionSign(environ []string, saDir string) string {
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case name == "AWS_EXECUTION_ENV":
			return "AWS_EXECUTION_ENV is set"
		case strings.HasPrefix(name, "ECS_CONTAINER_METADATA_URI"):
			return name + " is set"
		case name == "KUBERNETES_SERVICE_HOST":
			return "KUBERNETES_SERVICE_HOST is set"
		}
	}
	if _, err := os.Stat(saDir); err == nil {
		return saDir + " exists"
	}
	return ""
}
