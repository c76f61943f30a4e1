// Package s3test starts versitygw, an S3-compatible server over a temporary
// directory, for the tests of packages that store objects in S3. Tests that
// need it are skipped, with the install command, when the binary is absent.
package s3test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/dawn-ml/dawn/artifact/s3"
)

// The gateway's credentials.
const (
	AccessKey = "dawnkey"
	SecretKey = "dawnsecret"
)

// Install is the command that installs the versitygw the tests expect.
const Install = "go install github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// Binary finds the versitygw binary: $VERSITYGW, PATH, or GOPATH/bin; ""
// when there is none.
func Binary() string {
	if p := os.Getenv("VERSITYGW"); p != "" {
		return p
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	home, _ := os.UserHomeDir()
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		gopath = filepath.Join(home, "go")
	}
	p := filepath.Join(gopath, "bin", "versitygw")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return ""
}

// Start runs versitygw over a temporary directory until the test ends and
// returns its endpoint (http://127.0.0.1:PORT). The test is skipped when
// the binary is absent.
func Start(t testing.TB) string {
	t.Helper()
	bin := Binary()
	if bin == "" {
		t.Skip("versitygw not found; install it with: " + Install)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	cmd := exec.Command(bin, "--access", AccessKey, "--secret", SecretKey, "--port", addr, "posix", dir)
	if testing.Verbose() {
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for range 100 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "http://" + addr
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("versitygw did not listen on %s", addr)
	return ""
}

// Options are the artifact/s3 options that reach the gateway at endpoint.
func Options(endpoint string) s3.Options {
	return s3.Options{Endpoint: endpoint, AccessKey: AccessKey, SecretKey: SecretKey}
}

// CreateBucket creates bucket on the gateway at endpoint.
func CreateBucket(t testing.TB, endpoint, bucket string) {
	t.Helper()
	c := awss3.New(awss3.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: AccessKey, SecretAccessKey: SecretKey}, nil
		})})
	if _, err := c.CreateBucket(t.Context(), &awss3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket %s: %v", bucket, err)
	}
}
