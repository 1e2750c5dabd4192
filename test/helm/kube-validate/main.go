// kube-validate: strict typed decoding of rendered Kubernetes manifests (multi-document YAML on stdin)
// into the k8s.io/api Go types, the same structs the API server decodes into: an unknown or misspelt
// field, a wrong type (a string where an int belongs) or a duplicate key fails. Custom resources
// (monitoring.coreos.com, keda.sh) are only listed as skipped. Built by scripts/helm.ts fetch.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

func target(apiVersion, kind string) any {
	switch apiVersion + "/" + kind {
	case "apps/v1/Deployment":
		return &appsv1.Deployment{}
	case "apps/v1/StatefulSet":
		return &appsv1.StatefulSet{}
	case "v1/Service":
		return &corev1.Service{}
	case "v1/ConfigMap":
		return &corev1.ConfigMap{}
	case "v1/Secret":
		return &corev1.Secret{}
	case "v1/ServiceAccount":
		return &corev1.ServiceAccount{}
	case "policy/v1/PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}
	case "autoscaling/v2/HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}
	}
	return nil
}

func main() {
	in, err := io.ReadAll(bufio.NewReader(os.Stdin))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	failed := 0
	for _, doc := range regexp.MustCompile(`(?m)^---[ \t]*$`).Split(string(in), -1) {
		if strings.TrimSpace(regexp.MustCompile(`(?m)^#.*$`).ReplaceAllString(doc, "")) == "" {
			continue
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			fmt.Printf("INVALID %s\n", err)
			failed++
			continue
		}
		name := head.APIVersion + " " + head.Kind + "/" + head.Metadata.Name
		obj := target(head.APIVersion, head.Kind)
		if obj == nil {
			fmt.Printf("SKIPPED %s (no built-in type)\n", name)
			continue
		}
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			fmt.Printf("INVALID %s: %s\n", name, err)
			failed++
			continue
		}
		fmt.Printf("VALID %s\n", name)
	}
	if failed > 0 {
		os.Exit(1)
	}
}
