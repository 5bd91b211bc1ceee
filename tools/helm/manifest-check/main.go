// Command manifest-check decodes Kubernetes manifests strictly into the typed API objects of k8s.io/api: an
// unknown or misspelt field, a wrong type or a duplicate key is an error naming the object. Kinds outside
// the groups below (custom resources) are listed as skipped. It checks shape only, not the
// API server's semantic validation.
//
//	go run ./manifest-check FILE...   (YAML, several documents per file allowed)
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// The API groups the SPIRE chart renders (custom resources aside); client-go's full scheme would pull
// in every group for nothing.
var groups = []func(*runtime.Scheme) error{
	admissionregistrationv1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme, corev1.AddToScheme,
	rbacv1.AddToScheme, storagev1.AddToScheme,
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: manifest-check FILE...")
		os.Exit(2)
	}
	scheme := runtime.NewScheme()
	for _, add := range groups {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	decoder := serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
	failed := false
	for _, file := range os.Args[1:] {
		if err := checkFile(decoder, file); err != nil {
			fmt.Fprintln(os.Stderr, "manifest-check:", err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

func checkFile(decoder runtime.Decoder, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	reader := utilyaml.NewYAMLReader(bufio.NewReader(f))
	var errs []error
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		json, err := yaml.YAMLToJSON(doc)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", file, err))
			continue
		}
		if string(json) == "null" {
			continue
		}
		obj, gvk, err := decoder.Decode(json, nil, nil)
		switch {
		case runtime.IsNotRegisteredError(err):
			fmt.Printf("skipped %s (not a built-in kind)\n", gvk)
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %s: %w", file, gvk, err))
		default:
			name := ""
			if m, ok := obj.(interface{ GetName() string }); ok {
				name = m.GetName()
			}
			fmt.Printf("ok %s %s\n", gvk.Kind, name)
		}
	}
	return errors.Join(errs...)
}
