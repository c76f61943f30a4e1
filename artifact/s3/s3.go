// Package s3 stores artifacts in S3-compatible object storage through
// aws-sdk-go-v2. Uploads stream in parts (multipart above one part), so a
// 2 GB artifact needs one part of memory, not 2 GB.
package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/dawn-ml/dawn/artifact"
)

// DefaultPartSize is the multipart part size; S3 requires at least 5 MiB.
const DefaultPartSize = 16 << 20

// Repo is an artifact.Repo under s3://bucket/prefix.
type Repo struct {
	client   *s3.Client
	bucket   string
	prefix   string
	PartSize int64
}

var _ artifact.Repo = (*Repo)(nil)

// Options overrides what the environment supplies.
type Options struct {
	// Endpoint of an S3-compatible server; default from AWS_ENDPOINT_URL_S3,
	// AWS_ENDPOINT_URL or MLFLOW_S3_ENDPOINT_URL. Path-style addressing
	// is used whenever an endpoint is set.
	Endpoint string
	Region   string
	// AccessKey and SecretKey; default the usual AWS variables and files.
	AccessKey, SecretKey string
	// MaxAttempts bounds the SDK's own attempts per request (its default,
	// 3, when 0); a caller that retries by itself sets 1.
	MaxAttempts int
}

// Open returns the Repo for uri (s3://bucket/prefix).
func Open(ctx context.Context, uri string, o Options) (*Repo, error) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return nil, fmt.Errorf("s3: artifact URI %q must be s3://bucket[/prefix]", uri)
	}
	if o.Endpoint == "" {
		for _, k := range []string{"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "MLFLOW_S3_ENDPOINT_URL"} {
			if v := os.Getenv(k); v != "" {
				o.Endpoint = v
				break
			}
		}
	}
	var lo []func(*config.LoadOptions) error
	region := o.Region
	if region == "" && os.Getenv("AWS_REGION") == "" && os.Getenv("AWS_DEFAULT_REGION") == "" {
		region = "us-east-1"
	}
	if region != "" {
		lo = append(lo, config.WithRegion(region))
	}
	if o.AccessKey != "" {
		lo = append(lo, config.WithCredentialsProvider(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: o.AccessKey, SecretAccessKey: o.SecretKey}, nil
		})))
	}
	cfg, err := config.LoadDefaultConfig(ctx, lo...)
	if err != nil {
		return nil, fmt.Errorf("s3: load AWS config: %w", err)
	}
	client := s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
			so.UsePathStyle = true
		}
		if o.MaxAttempts > 0 {
			so.RetryMaxAttempts = o.MaxAttempts
		}
		// Checksums on every request need the whole body or trailers; an
		// S3-compatible server may not support them.
		so.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		so.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	return &Repo{client: client, bucket: u.Host, prefix: strings.Trim(u.Path, "/"), PartSize: DefaultPartSize}, nil
}

func (r *Repo) key(p string) (string, error) {
	c, err := artifact.CleanPath(p)
	if err != nil {
		return "", fmt.Errorf("s3: path %q: %w", p, err)
	}
	switch {
	case r.prefix == "":
		return c, nil
	case c == "":
		return r.prefix, nil
	}
	return r.prefix + "/" + c, nil
}

// Put uploads body to p: one PutObject when it fits in a part, else a
// multipart upload that is aborted on any failure.
func (r *Repo) Put(ctx context.Context, p string, body io.Reader) error {
	key, err := r.key(p)
	if err != nil {
		return err
	}
	if key == r.prefix {
		return fmt.Errorf("s3: put: empty path: %w", artifact.ErrInvalidPath)
	}
	buf := make([]byte, r.PartSize)
	n, err := io.ReadFull(body, buf)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		_, err = r.client.PutObject(ctx, &s3.PutObjectInput{Bucket: &r.bucket, Key: &key, Body: bytes.NewReader(buf[:n]), ContentLength: aws.Int64(int64(n))})
		if err != nil {
			return fmt.Errorf("s3: put %s: %w", key, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("s3: put %s: read: %w", key, err)
	}
	mpu, err := r.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &r.bucket, Key: &key})
	if err != nil {
		return fmt.Errorf("s3: put %s: create multipart upload: %w", key, err)
	}
	abort := func(cause error) error {
		r.client.AbortMultipartUpload(context.WithoutCancel(ctx), &s3.AbortMultipartUploadInput{Bucket: &r.bucket, Key: &key, UploadId: mpu.UploadId})
		return fmt.Errorf("s3: put %s: %w", key, cause)
	}
	var parts []types.CompletedPart
	for num := int32(1); ; num++ {
		out, err := r.client.UploadPart(ctx, &s3.UploadPartInput{Bucket: &r.bucket, Key: &key, UploadId: mpu.UploadId,
			PartNumber: aws.Int32(num), Body: bytes.NewReader(buf[:n]), ContentLength: aws.Int64(int64(n))})
		if err != nil {
			return abort(fmt.Errorf("upload part %d: %w", num, err))
		}
		parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(num)})
		n, err = io.ReadFull(body, buf)
		if err == io.EOF {
			break
		}
		if err != nil && err != io.ErrUnexpectedEOF {
			return abort(fmt.Errorf("read part %d: %w", num+1, err))
		}
		if n == 0 {
			break
		}
	}
	if _, err := r.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &r.bucket, Key: &key, UploadId: mpu.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}); err != nil {
		return abort(fmt.Errorf("complete multipart upload: %w", err))
	}
	return nil
}

func notFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	return errors.As(err, &nsk) || errors.As(err, &nf) || strings.Contains(err.Error(), "StatusCode: 404")
}

// Open streams an object.
func (r *Repo) Open(ctx context.Context, p string) (io.ReadCloser, int64, error) {
	key, err := r.key(p)
	if err != nil {
		return nil, 0, err
	}
	out, err := r.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &r.bucket, Key: &key})
	if err != nil {
		if notFound(err) {
			return nil, 0, fmt.Errorf("s3: get %s: %w", key, artifact.ErrNotFound)
		}
		return nil, 0, fmt.Errorf("s3: get %s: %w", key, err)
	}
	return out.Body, aws.ToInt64(out.ContentLength), nil
}

// List lists the direct children of p.
func (r *Repo) List(ctx context.Context, p string) ([]artifact.Entry, error) {
	key, err := r.key(p)
	if err != nil {
		return nil, err
	}
	c, _ := artifact.CleanPath(p)
	pfx := key
	if pfx != "" {
		pfx += "/"
	}
	var out []artifact.Entry
	rel := func(full string) string {
		name := strings.TrimSuffix(strings.TrimPrefix(full, pfx), "/")
		if c != "" {
			return c + "/" + name
		}
		return name
	}
	pager := s3.NewListObjectsV2Paginator(r.client, &s3.ListObjectsV2Input{Bucket: &r.bucket, Prefix: &pfx, Delimiter: aws.String("/")})
	for pager.HasMorePages() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("s3: list %s: %w", pfx, err)
		}
		for _, cp := range page.CommonPrefixes {
			out = append(out, artifact.Entry{Path: rel(aws.ToString(cp.Prefix)), IsDir: true})
		}
		for _, o := range page.Contents {
			if aws.ToString(o.Key) == pfx {
				continue
			}
			out = append(out, artifact.Entry{Path: rel(aws.ToString(o.Key)), Size: aws.ToInt64(o.Size)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// Delete removes an object, or every object under p when p is a directory.
func (r *Repo) Delete(ctx context.Context, p string) error {
	key, err := r.key(p)
	if err != nil {
		return err
	}
	if key == r.prefix {
		return fmt.Errorf("s3: delete: refusing to delete the root: %w", artifact.ErrInvalidPath)
	}
	_, herr := r.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &r.bucket, Key: &key})
	if herr == nil {
		if _, err := r.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &r.bucket, Key: &key}); err != nil {
			return fmt.Errorf("s3: delete %s: %w", key, err)
		}
		return nil
	}
	pfx := key + "/"
	deleted := 0
	pager := s3.NewListObjectsV2Paginator(r.client, &s3.ListObjectsV2Input{Bucket: &r.bucket, Prefix: &pfx})
	for pager.HasMorePages() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("s3: delete %s: list: %w", pfx, err)
		}
		if len(page.Contents) == 0 {
			continue
		}
		ids := make([]types.ObjectIdentifier, len(page.Contents))
		for i, o := range page.Contents {
			ids[i] = types.ObjectIdentifier{Key: o.Key}
		}
		if _, err := r.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &r.bucket, Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)}}); err != nil {
			return fmt.Errorf("s3: delete %s: %w", pfx, err)
		}
		deleted += len(ids)
	}
	if deleted == 0 {
		return fmt.Errorf("s3: delete %s: %w", key, artifact.ErrNotFound)
	}
	return nil
}

var _ artifact.Multipart = (*Repo)(nil)

// PresignExpiry is how long part URLs stay valid.
const PresignExpiry = time.Hour

// CreateMultipart starts a multipart upload and presigns a PUT URL per part.
func (r *Repo) CreateMultipart(ctx context.Context, p string, numParts int) (string, []artifact.PartURL, error) {
	key, err := r.key(p)
	if err != nil {
		return "", nil, err
	}
	if numParts < 1 || numParts > 10000 {
		return "", nil, fmt.Errorf("s3: multipart %s: %d parts, want 1..10000: %w", key, numParts, artifact.ErrInvalidPath)
	}
	mpu, err := r.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &r.bucket, Key: &key})
	if err != nil {
		return "", nil, fmt.Errorf("s3: multipart %s: create: %w", key, err)
	}
	pc := s3.NewPresignClient(r.client, s3.WithPresignExpires(PresignExpiry))
	parts := make([]artifact.PartURL, numParts)
	for i := range parts {
		req, err := pc.PresignUploadPart(ctx, &s3.UploadPartInput{Bucket: &r.bucket, Key: &key, UploadId: mpu.UploadId, PartNumber: aws.Int32(int32(i + 1))})
		if err != nil {
			r.AbortMultipart(ctx, p, aws.ToString(mpu.UploadId))
			return "", nil, fmt.Errorf("s3: multipart %s: presign part %d: %w", key, i+1, err)
		}
		parts[i] = artifact.PartURL{PartNumber: i + 1, URL: req.URL}
	}
	return aws.ToString(mpu.UploadId), parts, nil
}

// CompleteMultipart finishes an upload from the parts' ETags.
func (r *Repo) CompleteMultipart(ctx context.Context, p, uploadID string, parts []artifact.CompletedPart) error {
	key, err := r.key(p)
	if err != nil {
		return err
	}
	done := make([]types.CompletedPart, len(parts))
	for i, pt := range parts {
		done[i] = types.CompletedPart{PartNumber: aws.Int32(int32(pt.PartNumber)), ETag: aws.String(pt.ETag)}
	}
	sort.Slice(done, func(i, j int) bool { return *done[i].PartNumber < *done[j].PartNumber })
	if _, err := r.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &r.bucket, Key: &key, UploadId: &uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done}}); err != nil {
		return fmt.Errorf("s3: multipart %s: complete: %w", key, err)
	}
	return nil
}

// AbortMultipart abandons an upload and frees its parts.
func (r *Repo) AbortMultipart(ctx context.Context, p, uploadID string) error {
	key, err := r.key(p)
	if err != nil {
		return err
	}
	if _, err := r.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &r.bucket, Key: &key, UploadId: &uploadID}); err != nil {
		return fmt.Errorf("s3: multipart %s: abort: %w", key, err)
	}
	return nil
}
