// Package authenticode signs and verifies PE/COFF files (Windows executables
// and DLLs) with embedded Authenticode signatures, following Microsoft's
// "Windows Authenticode Portable Executable Signature Format" (1.0) and the
// PE/COFF specification's attribute certificate table (§4.7).
//
// # Digest
//
// Digest computes the SHA-256 image digest in one sequential pass: every
// byte of the file from offset 0 up to the certificate table (or the end of
// the file), except the optional header's CheckSum field (4 bytes) and the
// certificate table data directory entry (8 bytes). Data after the last
// section (an overlay) is hashed, as Windows and osslsigncode hash it. An
// unsigned file whose size is not a multiple of 8 is hashed as if padded
// with zeros to 8 bytes, the padding the signed file will carry before its
// certificate table.
//
// Only the digest travels to the signer: Signer.Sign turns a digest into a
// DER PKCS#7 ContentInfo holding SignedData with content type
// SPC_INDIRECT_DATA (1.3.6.1.4.1.311.2.1.4), whose SpcIndirectDataContent
// holds SpcPeImageData and the DigestInfo; the signed attributes are
// contentType, messageDigest (over the SpcIndirectDataContent value bytes,
// without its tag and length), SpcStatementType (individual code signing)
// and SpcSpOpusInfo; the certificates are Signer.Chain. With a Timestamper,
// the RFC 3161 TimeStampToken over the SignerInfo's encryptedDigest is the
// unsigned attribute SPC_RFC3161_OBJID (1.3.6.1.4.1.311.3.3.1).
//
// SignFile embeds it: the file (without any old certificate table, padded
// with zeros to 8 bytes) followed by one WIN_CERTIFICATE (revision 0x0200,
// type WIN_CERT_TYPE_PKCS_SIGNED_DATA, dwLength including its padding to 8
// bytes), the data directory entry pointing at it, and the PE checksum
// recomputed. It reads the input once, writing the copy in a second
// goroutine while it hashes, to a temporary file next to the output, and
// renames that on success, so a failure never leaves a partial file.
//
// # Verification
//
// Verify reads the one WIN_CERTIFICATE of the table (at most
// MaxSignatureSize bytes, zero padding after it allowed), decodes the
// SignedData, and checks: the file's digest equals the signed one (SHA-256
// only), the contentType and messageDigest attributes, the signer's
// signature over the attributes, and the signer's chain to the given roots
// with the code-signing extended key usage, at the time of a valid RFC 3161
// timestamp if there is one and TSA roots are given, at now otherwise. The
// timestamp must cover the SignerInfo's signature and chain to the TSA roots
// with the timeStamping usage. Legacy (PKCS#9) counter-signatures and nested
// signatures are not read. Inspect decodes the same without trusting
// anything, for display.
//
// # Parsing
//
// Every file is hostile. Parse refuses, with an error naming the field and
// its offset: files over MaxSize (4 GiB - 1, the certificate table's
// offset is 32 bits), no MZ or PE signature, an e_lfanew that is not 4-byte
// aligned, optional headers too short to hold data directory 4 or with
// fewer than 5 entries, more than 96 sections, a section table or
// SizeOfHeaders past the end of the file, sections whose raw data runs into
// the headers or past the end of the file or into the certificate table,
// and a certificate table that is not 8-byte aligned, not at the end of the
// file, or inside the headers. Section and file alignment are not checked:
// they do not change what is hashed.
//
// # Errors
//
// SignFile returns ErrSigned for a signed file unless Options.Replace is
// set. Verify wraps ErrInvalid around every failed check of the signature
// (digest, messageDigest, signature, chain, timestamp); other errors mean the
// file or the signature could not be read.
package authenticode
