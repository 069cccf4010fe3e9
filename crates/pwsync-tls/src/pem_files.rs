//! Reading and writing the PEM files of the PKI (certificates and private keys).
//!
//! Must never overwrite an existing file, never read a private key that group or others can
//! access, and never put file contents into an error message.

use std::io::Write;
use std::path::{Path, PathBuf};

use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};

use crate::error::TlsError;
use crate::file_modes;

/// One file to be created by [`write_new_files`].
pub(crate) struct NewFile<'a> {
    pub(crate) path: PathBuf,
    pub(crate) contents: &'a str,
    pub(crate) mode: u32,
}

/// Reads every certificate of a PEM file, end-entity first (the order of the file).
pub(crate) fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(path)?;
    let certificates = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| malformed(path, &error))?;
    if certificates.is_empty() {
        return Err(TlsError::NoCertificateInFile { path: path.to_owned() });
    }
    Ok(certificates)
}

/// Reads the first private key of a PEM file after checking that only its owner can access it.
pub(crate) fn read_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let metadata =
        std::fs::metadata(path).map_err(|source| TlsError::Read { path: path.to_owned(), source })?;
    if let Some(mode) = file_modes::exposed_mode(&metadata) {
        return Err(TlsError::InsecureKeyPermissions { path: path.to_owned(), mode });
    }
    let bytes = read(path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|error| match error {
        pem::Error::NoItemsFound => TlsError::NoPrivateKeyInFile { path: path.to_owned() },
        other => malformed(path, &other),
    })
}

/// Creates all `files` or none: refuses if any exists, and removes the ones it wrote if a later
/// one fails, so that a retry does not trip over half a certificate/key pair.
pub(crate) fn write_new_files(files: &[NewFile<'_>]) -> Result<(), TlsError> {
    if let Some(existing) = files.iter().find(|file| file.path.exists()) {
        return Err(TlsError::AlreadyExists { path: existing.path.clone() });
    }
    for (index, file) in files.iter().enumerate() {
        if let Err(error) = write_new_file(file) {
            for written in &files[..index] {
                let _ = std::fs::remove_file(&written.path);
            }
            return Err(error);
        }
    }
    Ok(())
}

fn write_new_file(file: &NewFile<'_>) -> Result<(), TlsError> {
    let write_error = |source: std::io::Error| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            TlsError::AlreadyExists { path: file.path.clone() }
        } else {
            TlsError::Write { path: file.path.clone(), source }
        }
    };
    let mut handle = file_modes::create_new_file(&file.path, file.mode).map_err(write_error)?;
    handle.write_all(file.contents.as_bytes()).and_then(|()| handle.sync_all()).map_err(write_error)
}

pub(crate) fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read { path: path.to_owned(), source })
}

/// Reads the first certificate revocation list of a PEM file.
pub(crate) fn read_revocation_list(path: &Path) -> Result<CertificateRevocationListDer<'static>, TlsError> {
    let bytes = read(path)?;
    CertificateRevocationListDer::from_pem_slice(&bytes).map_err(|error| match error {
        pem::Error::NoItemsFound => TlsError::NoRevocationListInFile { path: path.to_owned() },
        other => malformed(path, &other),
    })
}

/// Replaces `path` with `contents` through a temporary file and a rename, so that a server
/// reading it at the same moment sees the old or the new list, never half of one.
pub(crate) fn replace_file(path: &Path, contents: &str, mode: u32) -> Result<(), TlsError> {
    let write_error = |source: std::io::Error| TlsError::Write { path: path.to_owned(), source };
    let mut temporary_name = path.as_os_str().to_owned();
    temporary_name.push(".tmp");
    let temporary = PathBuf::from(temporary_name);
    let _ = std::fs::remove_file(&temporary);
    let mut handle = file_modes::create_new_file(&temporary, mode).map_err(write_error)?;
    handle.write_all(contents.as_bytes()).and_then(|()| handle.sync_all()).map_err(write_error)?;
    std::fs::rename(&temporary, path).map_err(write_error)
}

/// A fixed description of a PEM error: the library's own messages may quote file contents.
fn malformed(path: &Path, error: &pem::Error) -> TlsError {
    let reason = match error {
        pem::Error::MissingSectionEnd { .. } => "a -----BEGIN----- line has no matching -----END----- line",
        pem::Error::IllegalSectionStart { .. } => "a -----BEGIN----- line is malformed",
        pem::Error::Base64Decode(_) => "a section is not valid base64",
        pem::Error::SectionTooLarge => "a section is too large",
        pem::Error::NoItemsFound => "no PEM section found",
        _ => "the PEM structure is invalid",
    };
    TlsError::MalformedPem { path: path.to_owned(), reason }
}
