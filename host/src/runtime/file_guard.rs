//! The filesystem a plugin sees: WASI's own, except that it opens only regular files and
//! directories.
//!
//! Plugins do their file I/O on the async runtime's threads (see `sandbox.rs`: blocking there is
//! cheaper than a hop to the blocking pool for small files). Opening a FIFO blocks in `open()`
//! until a writer comes, and reading a terminal or a pipe-like device blocks in `read()`: either
//! would hold a runtime thread where no timeout can reach it, and a few of them stall the whole
//! server. So `open-at` looks at what the path is first and refuses FIFOs, sockets and devices
//! with a reason the call's error repeats. Every other operation goes straight to WASI.
//!
//! The look and the open are two steps: a task that swaps a file for a FIFO between them still
//! blocks the call. The timeout of the call cannot fire then; it is the sandbox of tasks (who
//! may write into a directory a plugin reads) that has to close that gap.

use super::sandbox::{PluginState, SharedReport};
use wasmtime::component::{HasData, Linker, Resource};
use wasmtime_wasi::filesystem::{WasiFilesystemCtxView, WasiFilesystemView};
use wasmtime_wasi::p2::bindings::filesystem::types::{self, ErrorCode, HostDescriptor, HostDirectoryEntryStream};
use wasmtime_wasi::p2::{DynInputStream, DynOutputStream, FsError, FsResult};

/// Replaces the `wasi:filesystem/types` that `wasmtime_wasi::p2::add_to_linker_async` defined.
pub(crate) fn add_to_linker(linker: &mut Linker<PluginState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let added = types::add_to_linker::<PluginState, GuardedFilesystem>(linker, |state| {
        let report = state.report.clone();
        GuardedView { wasi: state.filesystem(), report }
    });
    linker.allow_shadowing(false);
    added
}

struct GuardedFilesystem;

impl HasData for GuardedFilesystem {
    type Data<'a> = GuardedView<'a>;
}

pub(crate) struct GuardedView<'a> {
    wasi: WasiFilesystemCtxView<'a>,
    report: SharedReport,
}

/// Why `kind` of file is not opened, or `None` when it may be.
fn refusal(kind: types::DescriptorType) -> Option<&'static str> {
    match kind {
        // WASI's stat says `unknown` for both on Unix.
        types::DescriptorType::Fifo | types::DescriptorType::Socket | types::DescriptorType::Unknown => Some("a FIFO or a socket"),
        types::DescriptorType::CharacterDevice => Some("a character device"),
        types::DescriptorType::BlockDevice => Some("a block device"),
        _ => None,
    }
}

fn borrow(fd: &Resource<types::Descriptor>) -> Resource<types::Descriptor> {
    Resource::new_borrow(fd.rep())
}

impl types::Host for GuardedView<'_> {
    fn convert_error_code(&mut self, err: FsError) -> wasmtime::Result<ErrorCode> {
        types::Host::convert_error_code(&mut self.wasi, err)
    }

    fn filesystem_error_code(&mut self, err: Resource<wasmtime::Error>) -> wasmtime::Result<Option<ErrorCode>> {
        types::Host::filesystem_error_code(&mut self.wasi, err)
    }
}

impl HostDescriptor for GuardedView<'_> {
    async fn open_at(
        &mut self,
        fd: Resource<types::Descriptor>,
        path_flags: types::PathFlags,
        path: String,
        oflags: types::OpenFlags,
        flags: types::DescriptorFlags,
    ) -> FsResult<Resource<types::Descriptor>> {
        // A path that does not exist yet (a file to create) has nothing to look at.
        if let Ok(stat) = self.wasi.stat_at(borrow(&fd), path_flags, path.clone()).await {
            if let Some(what) = refusal(stat.type_) {
                super::sandbox::record_refusal(&self.report, format!("open `{path}`: it is {what}; plugins open only regular files and directories"));
                return Err(ErrorCode::Access.into());
            }
        }
        self.wasi.open_at(fd, path_flags, path, oflags, flags).await
    }

    async fn advise(&mut self, fd: Resource<types::Descriptor>, offset: types::Filesize, len: types::Filesize, advice: types::Advice) -> FsResult<()> {
        self.wasi.advise(fd, offset, len, advice).await
    }

    async fn sync_data(&mut self, fd: Resource<types::Descriptor>) -> FsResult<()> {
        self.wasi.sync_data(fd).await
    }

    async fn get_flags(&mut self, fd: Resource<types::Descriptor>) -> FsResult<types::DescriptorFlags> {
        self.wasi.get_flags(fd).await
    }

    async fn get_type(&mut self, fd: Resource<types::Descriptor>) -> FsResult<types::DescriptorType> {
        self.wasi.get_type(fd).await
    }

    async fn set_size(&mut self, fd: Resource<types::Descriptor>, size: types::Filesize) -> FsResult<()> {
        self.wasi.set_size(fd, size).await
    }

    async fn set_times(&mut self, fd: Resource<types::Descriptor>, atim: types::NewTimestamp, mtim: types::NewTimestamp) -> FsResult<()> {
        self.wasi.set_times(fd, atim, mtim).await
    }

    async fn read(&mut self, fd: Resource<types::Descriptor>, len: types::Filesize, offset: types::Filesize) -> FsResult<(Vec<u8>, bool)> {
        self.wasi.read(fd, len, offset).await
    }

    async fn write(&mut self, fd: Resource<types::Descriptor>, buf: Vec<u8>, offset: types::Filesize) -> FsResult<types::Filesize> {
        self.wasi.write(fd, buf, offset).await
    }

    async fn read_directory(&mut self, fd: Resource<types::Descriptor>) -> FsResult<Resource<types::DirectoryEntryStream>> {
        self.wasi.read_directory(fd).await
    }

    async fn sync(&mut self, fd: Resource<types::Descriptor>) -> FsResult<()> {
        self.wasi.sync(fd).await
    }

    async fn create_directory_at(&mut self, fd: Resource<types::Descriptor>, path: String) -> FsResult<()> {
        self.wasi.create_directory_at(fd, path).await
    }

    async fn stat(&mut self, fd: Resource<types::Descriptor>) -> FsResult<types::DescriptorStat> {
        self.wasi.stat(fd).await
    }

    async fn stat_at(&mut self, fd: Resource<types::Descriptor>, path_flags: types::PathFlags, path: String) -> FsResult<types::DescriptorStat> {
        self.wasi.stat_at(fd, path_flags, path).await
    }

    async fn set_times_at(
        &mut self,
        fd: Resource<types::Descriptor>,
        path_flags: types::PathFlags,
        path: String,
        atim: types::NewTimestamp,
        mtim: types::NewTimestamp,
    ) -> FsResult<()> {
        self.wasi.set_times_at(fd, path_flags, path, atim, mtim).await
    }

    async fn link_at(
        &mut self,
        fd: Resource<types::Descriptor>,
        old_path_flags: types::PathFlags,
        old_path: String,
        new_descriptor: Resource<types::Descriptor>,
        new_path: String,
    ) -> FsResult<()> {
        self.wasi.link_at(fd, old_path_flags, old_path, new_descriptor, new_path).await
    }

    fn drop(&mut self, fd: Resource<types::Descriptor>) -> wasmtime::Result<()> {
        HostDescriptor::drop(&mut self.wasi, fd)
    }

    async fn readlink_at(&mut self, fd: Resource<types::Descriptor>, path: String) -> FsResult<String> {
        self.wasi.readlink_at(fd, path).await
    }

    async fn remove_directory_at(&mut self, fd: Resource<types::Descriptor>, path: String) -> FsResult<()> {
        self.wasi.remove_directory_at(fd, path).await
    }

    async fn rename_at(&mut self, fd: Resource<types::Descriptor>, old_path: String, new_fd: Resource<types::Descriptor>, new_path: String) -> FsResult<()> {
        self.wasi.rename_at(fd, old_path, new_fd, new_path).await
    }

    async fn symlink_at(&mut self, fd: Resource<types::Descriptor>, src_path: String, dest_path: String) -> FsResult<()> {
        self.wasi.symlink_at(fd, src_path, dest_path).await
    }

    async fn unlink_file_at(&mut self, fd: Resource<types::Descriptor>, path: String) -> FsResult<()> {
        self.wasi.unlink_file_at(fd, path).await
    }

    fn read_via_stream(&mut self, fd: Resource<types::Descriptor>, offset: types::Filesize) -> FsResult<Resource<DynInputStream>> {
        self.wasi.read_via_stream(fd, offset)
    }

    fn write_via_stream(&mut self, fd: Resource<types::Descriptor>, offset: types::Filesize) -> FsResult<Resource<DynOutputStream>> {
        self.wasi.write_via_stream(fd, offset)
    }

    fn append_via_stream(&mut self, fd: Resource<types::Descriptor>) -> FsResult<Resource<DynOutputStream>> {
        self.wasi.append_via_stream(fd)
    }

    async fn is_same_object(&mut self, a: Resource<types::Descriptor>, b: Resource<types::Descriptor>) -> wasmtime::Result<bool> {
        self.wasi.is_same_object(a, b).await
    }

    async fn metadata_hash(&mut self, fd: Resource<types::Descriptor>) -> FsResult<types::MetadataHashValue> {
        self.wasi.metadata_hash(fd).await
    }

    async fn metadata_hash_at(&mut self, fd: Resource<types::Descriptor>, path_flags: types::PathFlags, path: String) -> FsResult<types::MetadataHashValue> {
        self.wasi.metadata_hash_at(fd, path_flags, path).await
    }
}

impl HostDirectoryEntryStream for GuardedView<'_> {
    async fn read_directory_entry(&mut self, stream: Resource<types::DirectoryEntryStream>) -> FsResult<Option<types::DirectoryEntry>> {
        self.wasi.read_directory_entry(stream).await
    }

    fn drop(&mut self, stream: Resource<types::DirectoryEntryStream>) -> wasmtime::Result<()> {
        HostDirectoryEntryStream::drop(&mut self.wasi, stream)
    }
}
