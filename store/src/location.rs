//! Where the lake lives: a local directory or an object-store URL.

use std::path::Path;

use url::Url;

use crate::StoreError;

/// The root of the lake, under which each table is a directory (`readings/`, `bills/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LakeLocation {
    root: Url,
}

impl LakeLocation {
    /// Parses a local path (created if missing) or a URL such as `s3://bucket/lake` or `memory:///lake`.
    pub fn parse(location: &str) -> Result<Self, StoreError> {
        let invalid = |reason: String| StoreError::Location {
            location: location.to_string(),
            reason,
        };
        if location.trim().is_empty() {
            return Err(invalid("empty location".into()));
        }
        let root = if location.contains("://") {
            let url = Url::parse(location).map_err(|e| invalid(e.to_string()))?;
            if matches!(url.scheme(), "s3" | "s3a") {
                // S3 settings come from the usual AWS_* environment variables (see the README).
                deltalake::aws::register_handlers(None);
            }
            url
        } else {
            let path = Path::new(location);
            std::fs::create_dir_all(path)?;
            let absolute = std::fs::canonicalize(path)?;
            Url::from_directory_path(&absolute)
                .map_err(|_| invalid("not an absolute directory".into()))?
        };
        Ok(Self { root })
    }

    /// The URL of a table directory below the root.
    pub fn table_url(&self, table: &str) -> Result<Url, StoreError> {
        let mut root = self.root.clone();
        if !root.path().ends_with('/') {
            let path = format!("{}/", root.path());
            root.set_path(&path);
        }
        let url = root
            .join(&format!("{table}/"))
            .map_err(|e| StoreError::Location {
                location: self.root.to_string(),
                reason: e.to_string(),
            })?;
        if url.scheme() == "file" {
            if let Ok(path) = url.to_file_path() {
                std::fs::create_dir_all(path)?;
            }
        }
        Ok(url)
    }

    /// The root URL.
    pub fn root(&self) -> &Url {
        &self.root
    }

    /// The local directory of the root, when the lake is on local disk.
    pub fn local_dir(&self) -> Option<std::path::PathBuf> {
        (self.root.scheme() == "file")
            .then(|| self.root.to_file_path().ok())
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_become_file_urls_with_tables_below() {
        let dir = tempfile::tempdir().unwrap();
        let lake = LakeLocation::parse(dir.path().join("lake").to_str().unwrap()).unwrap();
        let url = lake.table_url("readings").unwrap();
        assert_eq!(url.scheme(), "file");
        assert!(url.path().ends_with("/lake/readings/"));
        assert!(dir.path().join("lake/readings").is_dir());
    }

    #[test]
    fn urls_are_kept_and_empty_locations_refused() {
        let lake = LakeLocation::parse("s3://bucket/prefix").unwrap();
        assert_eq!(
            lake.table_url("readings").unwrap().as_str(),
            "s3://bucket/prefix/readings/"
        );
        assert!(LakeLocation::parse("  ").is_err());
        assert!(LakeLocation::parse("no scheme://x").is_err());
    }
}
