package artifactstore

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
)

// KeyType names the signing keys the SDK makes and signs with.
type KeyType string

const (
	KeyECDSAP256 KeyType = "ecdsa-p256"
	KeyEd25519   KeyType = "ed25519"
)

// SigningKey is a private key for Sign: ECDSA P-256 signs the object's SHA-256 (a sigstore
// message signature, as cosign sign-blob does); Ed25519, which cannot sign a pre-hashed
// digest, signs a DSSE envelope of an in-toto statement naming that digest.
type SigningKey struct {
	Type   KeyType
	Signer crypto.Signer
}

// GenerateKey makes a new key pair.
func GenerateKey(kind KeyType) (*SigningKey, error) {
	switch kind {
	case KeyECDSAP256:
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		return &SigningKey{Type: kind, Signer: key}, nil
	case KeyEd25519:
		_, key, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		return &SigningKey{Type: kind, Signer: key}, nil
	}
	return nil, &Error{Family: FamilyInvalidRequest, Code: "InvalidKeyType", Message: fmt.Sprintf("unknown key type %q", kind)}
}

// ParsePrivateKeyPEM reads a PKCS#8 PEM private key (ECDSA P-256 or Ed25519).
func ParsePrivateKeyPEM(data []byte) (*SigningKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, &Error{Family: FamilyInvalidRequest, Code: "InvalidKey", Message: "no PEM block"}
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		if ec, ecErr := x509.ParseECPrivateKey(block.Bytes); ecErr == nil {
			key = ec
		} else {
			return nil, &Error{Family: FamilyInvalidRequest, Code: "InvalidKey", Message: err.Error()}
		}
	}
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, &Error{Family: FamilyInvalidRequest, Code: "InvalidKey", Message: "ECDSA keys must be P-256"}
		}
		return &SigningKey{Type: KeyECDSAP256, Signer: k}, nil
	case ed25519.PrivateKey:
		return &SigningKey{Type: KeyEd25519, Signer: k}, nil
	}
	return nil, &Error{Family: FamilyInvalidRequest, Code: "InvalidKey", Message: fmt.Sprintf("unsupported key %T", key)}
}

// PrivateKeyPEM is the key as PKCS#8 PEM.
func (k *SigningKey) PrivateKeyPEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k.Signer)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// PublicKeyPEM is the public half as PKIX PEM (what a bucket's trust lists).
func (k *SigningKey) PublicKeyPEM() (string, error) {
	der, err := x509.MarshalPKIXPublicKey(k.Signer.Public())
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// hint is the bundle's public-key hint: base64 of the SHA-256 of the PKIX public key.
func (k *SigningKey) hint() (string, error) {
	der, err := x509.MarshalPKIXPublicKey(k.Signer.Public())
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return base64.StdEncoding.EncodeToString(sum[:]), nil
}

// ParsePublicKeyPEM reads a PKIX PEM public key (ECDSA or Ed25519), for VerifyLocal.
func ParsePublicKeyPEM(data []byte) (crypto.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, &Error{Family: FamilyInvalidRequest, Code: "InvalidKey", Message: "no PEM block"}
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, &Error{Family: FamilyInvalidRequest, Code: "InvalidKey", Message: err.Error()}
	}
	return key, nil
}
