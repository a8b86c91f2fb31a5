// Command codegen writes the Go and Python SDKs of pulumi-delta from its
// schema, calling Pulumi's code generators directly: `pulumi package gen-sdk`
// hands generation to language hosts, and the ones that build offline cannot
// generate. Run it through scripts/gen-sdk.sh, which also writes the .NET SDK
// (its generator is only in an older pkg module, see ./dotnet).
//
//	codegen -schema provider/schema.json -version 0.1.0 -out sdk
//
// replaces <out>/python/ and <out>/go/ (package go/delta) and writes
// <out>/go.mod; nothing else under <out> is touched.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/blang/semver"
	gogen "github.com/pulumi/pulumi/pkg/v3/codegen/go"
	pygen "github.com/pulumi/pulumi/pkg/v3/codegen/python"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)

// The header line every generated file carries names what to run instead of editing it.
const tool = "scripts/gen-sdk.sh"

// The module path of sdk/go.mod: the Go SDK's package is <module>/go/delta,
// as the schema's language.go.importBasePath says.
const goModule = "github.com/pulumi-delta/pulumi-delta/sdk"

// The Go SDK is built against the Pulumi Go SDK of the CLI the project tests with.
const goSDKVersion = "v3.259.0"

// noLoader loads nothing: the schema references no other package, and
// BindSpec needs a loader (nil panics) that it consults only for references.
type noLoader struct{}

var errNoReferences = errors.New("the delta schema references no other package; remove the reference")

func (noLoader) LoadPackage(string, *semver.Version) (*schema.Package, error) {
	return nil, errNoReferences
}

func (noLoader) LoadPackageV2(context.Context, *schema.PackageDescriptor) (*schema.Package, error) {
	return nil, errNoReferences
}

func (noLoader) LoadPackageReference(string, *semver.Version) (schema.PackageReference, error) {
	return nil, errNoReferences
}

func (noLoader) LoadPackageReferenceV2(context.Context, *schema.PackageDescriptor) (schema.PackageReference, error) {
	return nil, errNoReferences
}

func main() {
	schemaPath := flag.String("schema", "provider/schema.json", "the package schema")
	version := flag.String("version", "", "the package version (package.json's), injected into the schema")
	out := flag.String("out", "sdk", "the folder that holds python/, go/ and go.mod")
	flag.Parse()
	if err := run(*schemaPath, *version, *out); err != nil {
		fmt.Fprintf(os.Stderr, "codegen: %v\n", err)
		os.Exit(1)
	}
}

func run(schemaPath, version, out string) error {
	pkg, err := bind(schemaPath, version)
	if err != nil {
		return err
	}
	goFiles, err := gogen.GeneratePackage(tool, pkg, nil)
	if err != nil {
		return fmt.Errorf("failed to generate the Go SDK: %w", err)
	}
	if err := write(filepath.Join(out, "go"), goFiles); err != nil {
		return err
	}
	// Beside go/, as pulumi-command keeps it, so the module path ends in /sdk;
	// scripts/gen-sdk.sh then runs `go mod tidy` for the indirect requirements and go.sum.
	goMod := fmt.Sprintf("module %s\n\ngo 1.25\n\nrequire github.com/pulumi/pulumi/sdk/v3 %s\n", goModule, goSDKVersion)
	if err := os.WriteFile(filepath.Join(out, "go.mod"), []byte(goMod), 0o644); err != nil {
		return fmt.Errorf("failed to write %s: %w", filepath.Join(out, "go.mod"), err)
	}
	pyFiles, err := pygen.GeneratePackage(tool, pkg, nil, noLoader{})
	if err != nil {
		return fmt.Errorf("failed to generate the Python SDK: %w", err)
	}
	return write(filepath.Join(out, "python"), pyFiles)
}

// bind reads the schema, sets its version and binds it, failing on any error diagnostic.
func bind(schemaPath, version string) (*schema.Package, error) {
	raw, err := os.ReadFile(schemaPath)
	if err != nil {
		return nil, fmt.Errorf("failed to read %s: %w", schemaPath, err)
	}
	var spec schema.PackageSpec
	if err := json.Unmarshal(raw, &spec); err != nil {
		return nil, fmt.Errorf("failed to parse %s: %w", schemaPath, err)
	}
	if spec.Version != "" {
		return nil, fmt.Errorf("%s sets version %q; leave it out: the version comes from package.json at generation time", schemaPath, spec.Version)
	}
	if _, err := semver.ParseTolerant(version); err != nil {
		return nil, fmt.Errorf("-version %q is not a semantic version such as 0.1.0: %w", version, err)
	}
	spec.Version = version
	pkg, diags, err := schema.BindSpec(spec, noLoader{}, schema.ValidationOptions{})
	if err != nil {
		return nil, fmt.Errorf("failed to bind %s: %w", schemaPath, err)
	}
	if diags.HasErrors() {
		return nil, fmt.Errorf("%s is not a valid Pulumi schema:\n%s", schemaPath, diags.Error())
	}
	if len(diags) > 0 {
		fmt.Fprintf(os.Stderr, "warning: %s: %s\n", schemaPath, diags.Error())
	}
	return pkg, nil
}

// write replaces dir with files (paths relative to dir): the generator owns
// the whole folder, so a type removed from the schema leaves no file behind.
func write(dir string, files map[string][]byte) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("failed to clear %s: %w", dir, err)
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("failed to create %s: %w", filepath.Dir(p), err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return fmt.Errorf("failed to write %s: %w", p, err)
		}
	}
	return nil
}
