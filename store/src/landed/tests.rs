use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use deltalake::DeltaTableBuilder;
use futures::stream::BoxStream;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
};
use url::Url;

use super::*;
use crate::lake::Lake;
use crate::test_rows::batch;

/// An object store that, once armed, does the next conditional put of a Delta log entry and then
/// answers as the retry of a request whose answer was lost would: "already exists".
#[derive(Debug)]
struct LosesNextCommitAnswer {
    inner: Arc<InMemory>,
    armed: AtomicBool,
    lost: AtomicUsize,
}

impl std::fmt::Display for LosesNextCommitAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LosesNextCommitAnswer({})", self.inner)
    }
}

#[async_trait::async_trait]
impl ObjectStore for LosesNextCommitAnswer {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        let commit_entry = location.as_ref().contains("_delta_log/")
            && location.as_ref().ends_with(".json")
            && matches!(opts.mode, PutMode::Create);
        let done = self.inner.put_opts(location, payload, opts).await?;
        if commit_entry && self.armed.swap(false, Ordering::SeqCst) {
            self.lost.fetch_add(1, Ordering::SeqCst);
            return Err(object_store::Error::AlreadyExists {
                path: location.to_string(),
                source: "the retried put found the entry its first attempt wrote".into(),
            });
        }
        Ok(done)
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(
        &self,
        from: &Path,
        to: &Path,
        options: RenameOptions,
    ) -> object_store::Result<()> {
        self.inner.rename_opts(from, to, options).await
    }
}

/// A lake writer over `store` (shared between writers of one test).
fn writer(store: &Arc<LosesNextCommitAnswer>) -> Lake {
    let url = Url::parse("memory:///lake/readings").unwrap();
    let table = DeltaTableBuilder::from_url(url.clone())
        .unwrap()
        .with_storage_backend(store.clone(), url)
        .build()
        .unwrap();
    Lake::from_table(table, chrono_tz::Asia::Shanghai)
}

fn store() -> Arc<LosesNextCommitAnswer> {
    Arc::new(LosesNextCommitAnswer {
        inner: Arc::new(InMemory::new()),
        armed: AtomicBool::new(false),
        lost: AtomicUsize::new(0),
    })
}

/// Two meters' rows at the `n`th quarter hour of 2026-11-02 (Beijing time).
fn rows(n: i64) -> arrow::array::RecordBatch {
    let at: DateTime<Utc> = "2026-11-01T16:00:00Z".parse().unwrap();
    let at = at + chrono::TimeDelta::minutes(15 * n);
    batch(&[
        ("000000001001", at, Some(100 + i128::from(n as i32))),
        ("000000001002", at, Some(200 + i128::from(n as i32))),
    ])
}

fn position(source: &str, position: i64) -> SourcePosition {
    SourcePosition {
        source: source.to_string(),
        position,
    }
}

#[tokio::test]
async fn a_commit_whose_answer_was_lost_is_taken_as_committed_once() {
    let store = store();
    let mut lake = writer(&store);
    lake.append(vec![rows(0)], &[position("g/t/0", 10)])
        .await
        .unwrap();
    store.armed.store(true, Ordering::SeqCst);
    let report = lake
        .append(vec![rows(1)], &[position("g/t/0", 20)])
        .await
        .expect("the writer recognises its own commit");
    assert_eq!(store.lost.load(Ordering::SeqCst), 1, "the answer was lost");
    assert_eq!(report.version, 1);
    assert_eq!(report.rows_written, 2);

    let mut reader = writer(&store);
    reader.refresh().await.unwrap();
    assert_eq!(reader.version(), Some(1), "committed once, not repeated");
    assert_eq!(reader.source_position("g/t/0").await.unwrap(), Some(20));
    // The rows are in the lake: offered again, both are dropped as duplicates.
    let again = lake
        .append(vec![rows(1)], &[position("g/t/0", 21)])
        .await
        .unwrap();
    assert_eq!((again.rows_written, again.duplicates_dropped), (0, 2));
}

#[tokio::test]
async fn a_writer_behind_another_of_the_same_source_is_still_refused() {
    let store = store();
    let mut first = writer(&store);
    first
        .append(vec![rows(0)], &[position("g/t/0", 10)])
        .await
        .unwrap();
    let mut second = writer(&store);
    second.refresh().await.unwrap();
    first
        .append(vec![rows(1)], &[position("g/t/0", 20)])
        .await
        .unwrap();
    // `second` still sees version 0: its commit of a later position meets `first`'s, which holds
    // less than it wants to commit.
    let err = second
        .append(vec![rows(2)], &[position("g/t/0", 30)])
        .await
        .expect_err("a later position not in the lake is refused");
    assert!(is_same_source_conflict(&err), "{err}");
    assert_eq!(store.lost.load(Ordering::SeqCst), 0);
    // A stale writer of a position the lake already holds goes on (its rows are there).
    let mut third = writer(&store);
    third.refresh().await.unwrap();
    first
        .append(vec![rows(3)], &[position("g/t/0", 40)])
        .await
        .unwrap();
    third
        .append(vec![rows(3)], &[position("g/t/0", 40)])
        .await
        .expect("the same position, committed by another writer");
    assert_eq!(first.version(), Some(2));
}
