//! A program started by a worker serves tasks over a Unix socket: the
//! worker sends [`ToProgram`] messages, the program runs each task on a
//! thread of its own and answers with [`FromProgram`].

use std::collections::HashMap;
use std::io::{BufReader, BufWriter};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use cloudbutton_cluster::wire::{FromProgram, ToProgram, read_frame, write_frame};
use cloudbutton_state::Store;
use cloudbutton_storage::StorageOptions;

use super::execute::execute;
use crate::permissions::{PERMISSIONS_VAR, Permissions, set_permissions};

/// Serves the worker listening at `socket` until it hangs up.
pub(crate) fn serve(
    socket: &Path,
    storage: StorageOptions,
    objects: Arc<dyn Store>,
) -> std::io::Result<()> {
    // Grant the tasks no more than the worker that started this program.
    if let Some(value) = std::env::var_os(PERMISSIONS_VAR) {
        let granted = Permissions::from_env(&value.to_string_lossy())
            .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidInput, error))?;
        set_permissions(granted);
    }
    let stream = UnixStream::connect(socket)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let writer = Arc::new(Mutex::new(BufWriter::new(stream)));
    let storage = Arc::new(storage);
    let running: Arc<Mutex<HashMap<u64, Arc<AtomicBool>>>> = Arc::default();
    tracing::debug!(socket = %socket.display(), "serving tasks");
    while let Some(message) = read_frame::<ToProgram>(&mut reader)? {
        match message {
            ToProgram::Run(task) => {
                let cancelled = Arc::new(AtomicBool::new(false));
                running.lock().unwrap().insert(task.id, cancelled.clone());
                let (writer, storage, running) = (writer.clone(), storage.clone(), running.clone());
                let objects = objects.clone();
                std::thread::Builder::new()
                    .name("task".to_owned())
                    .spawn(move || {
                        let report = execute(&task, &cancelled, &storage, &objects);
                        running.lock().unwrap().remove(&task.id);
                        let reply = FromProgram::Finished {
                            id: task.id,
                            report,
                        };
                        if let Err(error) = write_frame(&mut *writer.lock().unwrap(), &reply) {
                            tracing::warn!("cannot answer the worker: {error}");
                        }
                    })?;
            }
            ToProgram::Cancel(id) => {
                if let Some(flag) = running.lock().unwrap().get(&id) {
                    flag.store(true, Ordering::Relaxed);
                }
            }
        }
    }
    Ok(())
}
