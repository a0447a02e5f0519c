package artifactstore

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	bundlepb "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	commonpb "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	dssepb "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/artifact-store/artifact-store/clients/go/api"
)

// Media types of the referrers (docs/supply-chain.md).
const (
	MediaTypeBundle    = "application/vnd.dev.sigstore.bundle.v0.3+json"
	MediaTypeCycloneDX = "application/vnd.cyclonedx+json"
	MediaTypeSPDX      = "application/spdx+json"
	MediaTypeDSSE      = "application/vnd.dsse.envelope.v1+json"
	inTotoPayload      = "application/vnd.in-toto+json"
	inTotoStatement    = "https://in-toto.io/Statement/v1"
	// cosignSign is the predicate type of a signature carried in DSSE (what cosign uses), so
	// the gateway reads the bundle as a signature, not an attestation.
	cosignSign = "https://sigstore.dev/cosign/sign/v1"
)

// Referrer kinds.
const (
	KindSignature   = "signature"
	KindSBOM        = "sbom"
	KindAttestation = "attestation"
)

// SignOptions tune Sign.
type SignOptions struct {
	// SHA256 is the object's digest (hex) when the caller knows it (it just uploaded the
	// file); otherwise the verdict's is used, or the object is read and hashed.
	SHA256 string
}

// Sign signs the object's SHA-256 with key and attaches the sigstore bundle v0.3 as a
// signature referrer.
func (c *Client) Sign(ctx context.Context, bucket, key string, signer *SigningKey, opts ...func(*SignOptions)) (*api.ReferrerInfo, error) {
	var o SignOptions
	for _, opt := range opts {
		opt(&o)
	}
	digest := o.SHA256
	if digest == "" {
		var err error
		if digest, err = c.objectSHA256(ctx, bucket, key); err != nil {
			return nil, err
		}
	}
	document, err := SignBundle(signer, key, digest)
	if err != nil {
		return nil, err
	}
	return c.Attach(ctx, bucket, key, KindSignature, MediaTypeBundle, document)
}

// SignBundle makes the sigstore bundle v0.3 (JSON) of a key-based signature over an
// object's SHA-256 (hex), with a public-key hint and no transparency log entry.
func SignBundle(signer *SigningKey, name, sha256Hex string) ([]byte, error) {
	raw, err := hex.DecodeString(sha256Hex)
	if err != nil || len(raw) != sha256.Size {
		return nil, &Error{Family: FamilyInvalidRequest, Code: "InvalidDigest", Message: "not a SHA-256 hex digest"}
	}
	hint, err := signer.hint()
	if err != nil {
		return nil, err
	}
	bundle := &bundlepb.Bundle{
		MediaType: MediaTypeBundle,
		VerificationMaterial: &bundlepb.VerificationMaterial{
			Content: &bundlepb.VerificationMaterial_PublicKey{PublicKey: &commonpb.PublicKeyIdentifier{Hint: hint}},
		},
	}
	switch k := signer.Signer.(type) {
	case *ecdsa.PrivateKey:
		signature, err := ecdsa.SignASN1(rand.Reader, k, raw)
		if err != nil {
			return nil, err
		}
		bundle.Content = &bundlepb.Bundle_MessageSignature{MessageSignature: &commonpb.MessageSignature{
			MessageDigest: &commonpb.HashOutput{Algorithm: commonpb.HashAlgorithm_SHA2_256, Digest: raw},
			Signature:     signature,
		}}
	case ed25519.PrivateKey:
		statement, err := json.Marshal(map[string]any{
			"_type":         inTotoStatement,
			"subject":       []map[string]any{{"name": name, "digest": map[string]string{"sha256": sha256Hex}}},
			"predicateType": cosignSign,
			"predicate":     map[string]any{},
		})
		if err != nil {
			return nil, err
		}
		bundle.Content = &bundlepb.Bundle_DsseEnvelope{DsseEnvelope: &dssepb.Envelope{
			Payload: statement, PayloadType: inTotoPayload,
			Signatures: []*dssepb.Signature{{Sig: ed25519.Sign(k, pae(inTotoPayload, statement))}},
		}}
	default:
		return nil, &Error{Family: FamilyInvalidRequest, Code: "InvalidKey", Message: fmt.Sprintf("cannot sign with %T", k)}
	}
	return protojson.Marshal(bundle)
}

// pae is DSSE's pre-authentication encoding, what an envelope's signatures sign.
func pae(payloadType string, payload []byte) []byte {
	return fmt.Appendf(nil, "DSSEv1 %d %s %d %s", len(payloadType), payloadType, len(payload), payload)
}

// objectSHA256 is the object's SHA-256: the verdict's when the gateway knows it, else
// read and hashed here (constant memory).
func (c *Client) objectSHA256(ctx context.Context, bucket, key string) (string, error) {
	if verdict, err := c.Verify(ctx, bucket, key); err == nil && verdict.Sha256 != nil && *verdict.Sha256 != "" {
		return *verdict.Sha256, nil
	} else if err != nil && !errors.Is(err, ErrAccessDenied) && !errors.Is(err, ErrUnauthorized) {
		return "", err
	}
	return c.hashObject(ctx, bucket, key)
}

func (c *Client) hashObject(ctx context.Context, bucket, key string) (string, error) {
	out, err := c.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return "", wrapS3(err)
	}
	defer out.Body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, out.Body); err != nil {
		return "", &Error{Family: FamilyUnavailable, Code: "IncompleteBody", Message: err.Error(), Err: err}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Attach stores a document (a signature bundle, an SBOM, an attestation) as a referrer of the
// object. Attaching the same document again returns the referrer attached before.
func (c *Client) Attach(ctx context.Context, bucket, key, kind, mediaType string, document []byte) (*api.ReferrerInfo, error) {
	var out api.ReferrerInfo
	err := c.callJSON(ctx, apiRequest{method: http.MethodPost, path: "/_artifacts/referrers/" + url.PathEscape(bucket),
		query: url.Values{"key": {key}, "kind": {kind}}, body: document, contentType: mediaType}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Referrers lists the object's referrers, oldest first; kind "" lists every kind.
func (c *Client) Referrers(ctx context.Context, bucket, key, kind string) ([]api.ReferrerInfo, error) {
	query := url.Values{"key": {key}}
	if kind != "" {
		query.Set("kind", kind)
	}
	var out []api.ReferrerInfo
	err := c.callJSON(ctx, apiRequest{method: http.MethodGet, path: "/_artifacts/referrers/" + url.PathEscape(bucket),
		query: query}, &out)
	return out, err
}

// FetchReferrer returns one referrer's document, byte for byte, and its media type.
func (c *Client) FetchReferrer(ctx context.Context, bucket, key, digest string) ([]byte, string, error) {
	resp, err := c.call(ctx, apiRequest{method: http.MethodGet,
		path:  "/_artifacts/referrers/" + url.PathEscape(bucket) + "/" + url.PathEscape(digest),
		query: url.Values{"key": {key}}})
	if err != nil {
		return nil, "", err
	}
	return resp.body, resp.header.Get("Content-Type"), nil
}

// Verify returns the gateway's verdict on the object's current version.
func (c *Client) Verify(ctx context.Context, bucket, key string) (*api.VerdictInfo, error) {
	var out api.VerdictInfo
	err := c.callJSON(ctx, apiRequest{method: http.MethodGet, path: "/_artifacts/verify/" + url.PathEscape(bucket),
		query: url.Values{"key": {key}}}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// GetTrust reads whom the bucket trusts (NotFound: no trust settings).
func (c *Client) GetTrust(ctx context.Context, bucket string) (*api.TrustModel, error) {
	var out api.TrustModel
	err := c.callJSON(ctx, apiRequest{method: http.MethodGet, path: "/_artifacts/trust/" + url.PathEscape(bucket)}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// PutTrust replaces the bucket's trust document (admins).
func (c *Client) PutTrust(ctx context.Context, bucket string, trust *api.TrustModel) error {
	body, err := jsonBody(trust)
	if err != nil {
		return err
	}
	return c.callJSON(ctx, apiRequest{method: http.MethodPut, path: "/_artifacts/trust/" + url.PathEscape(bucket),
		body: body, contentType: "application/json"}, nil)
}

// TrustKey adds (or replaces, by name) a public key among the bucket's trusted keys,
// keeping the rest of its trust document.
func (c *Client) TrustKey(ctx context.Context, bucket, name, publicKeyPEM string) error {
	trust, err := c.GetTrust(ctx, bucket)
	if errors.Is(err, ErrNotFound) {
		trust, err = &api.TrustModel{}, nil
	}
	if err != nil {
		return err
	}
	keys := []api.TrustedKeyModel{}
	if trust.Keys != nil {
		for _, k := range *trust.Keys {
			if k.Name != name {
				keys = append(keys, k)
			}
		}
	}
	keys = append(keys, api.TrustedKeyModel{Name: name, PublicKey: publicKeyPEM})
	trust.Keys = &keys
	return c.PutTrust(ctx, bucket, trust)
}

// SetRequireSignature turns the bucket's require-signature switch on or off (GETs of objects
// no trusted key signed are refused), keeping the rest of its trust document.
func (c *Client) SetRequireSignature(ctx context.Context, bucket string, on bool) error {
	trust, err := c.GetTrust(ctx, bucket)
	if errors.Is(err, ErrNotFound) {
		trust, err = &api.TrustModel{}, nil
	}
	if err != nil {
		return err
	}
	trust.RequireSignature = &on
	return c.PutTrust(ctx, bucket, trust)
}

// LocalVerdict is VerifyLocal's answer.
type LocalVerdict struct {
	Valid   bool   // a signature referrer verifies with the key over the object's bytes
	SHA256  string // of the object, computed here
	Checked int    // signature referrers looked at
	Reason  string // why not, when not valid
}

// VerifyLocal checks the object's key-based signatures offline, with the public key given:
// the object is read and hashed here, and each signature bundle must sign that SHA-256
// (an ECDSA message signature, or a DSSE statement naming it). The gateway's verdict is
// not consulted.
func (c *Client) VerifyLocal(ctx context.Context, bucket, key string, publicKey crypto.PublicKey) (*LocalVerdict, error) {
	referrers, err := c.Referrers(ctx, bucket, key, KindSignature)
	if err != nil {
		return nil, err
	}
	if len(referrers) == 0 {
		// Nothing to check, so nothing is read: a require-signature bucket would refuse the
		// GET of an unsigned object anyway.
		return &LocalVerdict{Reason: "the object has no signature"}, nil
	}
	digest, err := c.hashObject(ctx, bucket, key)
	if err != nil {
		return nil, err
	}
	verdict := &LocalVerdict{SHA256: digest, Reason: "the object has no signature"}
	for _, r := range referrers {
		document, _, err := c.FetchReferrer(ctx, bucket, key, r.Digest)
		if err != nil {
			return nil, err
		}
		verdict.Checked++
		if reason := CheckBundle(document, digest, publicKey); reason == "" {
			verdict.Valid, verdict.Reason = true, ""
			return verdict, nil
		} else {
			verdict.Reason = reason
		}
	}
	return verdict, nil
}

// CheckBundle checks a sigstore bundle v0.3 against an object's SHA-256 (hex) and a public
// key; it returns "" when the signature holds, else why not.
func CheckBundle(document []byte, sha256Hex string, publicKey crypto.PublicKey) string {
	var bundle bundlepb.Bundle
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(document, &bundle); err != nil {
		return "not a sigstore bundle: " + err.Error()
	}
	want, err := hex.DecodeString(sha256Hex)
	if err != nil {
		return "bad digest"
	}
	if ms := bundle.GetMessageSignature(); ms != nil {
		d := ms.GetMessageDigest()
		if d == nil || d.GetAlgorithm() != commonpb.HashAlgorithm_SHA2_256 || hex.EncodeToString(d.GetDigest()) != sha256Hex {
			return "the bundle signs another digest"
		}
		k, ok := publicKey.(*ecdsa.PublicKey)
		if !ok {
			return "a message signature needs an ECDSA key"
		}
		if !ecdsa.VerifyASN1(k, want, ms.GetSignature()) {
			return "the signature does not verify with the key"
		}
		return ""
	}
	env := bundle.GetDsseEnvelope()
	if env == nil {
		return "neither a message signature nor a DSSE envelope"
	}
	var statement struct {
		Subject []struct {
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
	}
	if env.GetPayloadType() != inTotoPayload || json.Unmarshal(env.GetPayload(), &statement) != nil {
		return "the envelope holds no in-toto statement"
	}
	named := false
	for _, s := range statement.Subject {
		if strings.EqualFold(s.Digest["sha256"], sha256Hex) {
			named = true
		}
	}
	if !named {
		return "the statement does not name this object"
	}
	message := pae(env.GetPayloadType(), env.GetPayload())
	for _, sig := range env.GetSignatures() {
		switch k := publicKey.(type) {
		case ed25519.PublicKey:
			if ed25519.Verify(k, message, sig.GetSig()) {
				return ""
			}
		case *ecdsa.PublicKey:
			sum := sha256.Sum256(message)
			if ecdsa.VerifyASN1(k, sum[:], sig.GetSig()) {
				return ""
			}
		}
	}
	return "no envelope signature verifies with the key"
}
