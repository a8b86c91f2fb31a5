// Command codegen-dotnet writes the .NET SDK of pulumi-delta from its schema.
// Pulumi's .NET generator left the pkg module after v3.206.0, so this program
// pins that version in a module of its own; ../main.go writes the other SDKs.
//
//	codegen-dotnet -schema provider/schema.json -version 0.1.0 -logo provider/logo.png -out sdk
//
// replaces <out>/dotnet/; nothing else under <out> is touched.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"github.com/blang/semver"
	dotnetgen "github.com/pulumi/pulumi/pkg/v3/codegen/dotnet"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)

// The header line every generated file carries names what to run instead of editing it.
const tool = "scripts/gen-sdk.sh"

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

// logoOnly answers the one request the .NET generator makes, the package's
// logoUrl (it embeds the image in the NuGet package), from the committed
// file, so generation needs no network and gives the same bytes every time.
type logoOnly struct {
	url  string
	logo []byte
}

func (l logoOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.String() != l.url {
		return nil, fmt.Errorf("the .NET generator asked for %s; only the schema's logoUrl (%s) is served, from -logo", req.URL, l.url)
	}
	return &http.Response{
		StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"image/png"}}, Body: io.NopCloser(bytes.NewReader(l.logo)),
		ContentLength: int64(len(l.logo)), Request: req,
	}, nil
}

func main() {
	schemaPath := flag.String("schema", "provider/schema.json", "the package schema")
	version := flag.String("version", "", "the package version (package.json's), injected into the schema")
	logoPath := flag.String("logo", "provider/logo.png", "the image the schema's logoUrl names")
	out := flag.String("out", "sdk", "the folder that holds dotnet/")
	flag.Parse()
	if err := run(*schemaPath, *version, *logoPath, *out); err != nil {
		fmt.Fprintf(os.Stderr, "codegen-dotnet: %v\n", err)
		os.Exit(1)
	}
}

func run(schemaPath, version, logoPath, out string) error {
	pkg, err := bind(schemaPath, version)
	if err != nil {
		return err
	}
	if pkg.LogoURL == "" {
		return fmt.Errorf("%s has no logoUrl; the .NET generator would download Pulumi's default logo", schemaPath)
	}
	logo, err := os.ReadFile(logoPath)
	if err != nil {
		return fmt.Errorf("failed to read %s: %w", logoPath, err)
	}
	http.DefaultTransport = logoOnly{url: pkg.LogoURL, logo: logo}
	files, err := dotnetgen.GeneratePackage(tool, pkg, nil, nil)
	if err != nil {
		return fmt.Errorf("failed to generate the .NET SDK: %w", err)
	}
	return write(filepath.Join(out, "dotnet"), files)
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
