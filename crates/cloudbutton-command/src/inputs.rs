//! A command job's inputs: one task per chunk of the objects in storage.

use cloudbutton_executor::{
    Chunk, ExecutorError, InputDescription, InputSettings, ObjectInput, Payload, TaskInputs,
};

use crate::spec::{CommandSpec, CommandTask};

/// Objects in storage, split into chunks, each read by one run of the same
/// command: the input of a [`RUN_COMMAND`](crate::RUN_COMMAND) map job.
#[derive(Clone, Debug)]
pub struct CommandInputs {
    spec: CommandSpec,
    objects: ObjectInput,
}

impl CommandInputs {
    /// Runs `spec` on every chunk of `objects`.
    pub fn new(spec: CommandSpec, objects: ObjectInput) -> Self {
        Self { spec, objects }
    }
}

impl TaskInputs<CommandTask> for CommandInputs {
    fn into_tasks(
        self,
        settings: &InputSettings,
    ) -> Result<Vec<(CommandTask, InputDescription)>, ExecutorError> {
        let chunks = TaskInputs::<Chunk>::into_tasks(self.objects, settings)?;
        Ok(chunks
            .into_iter()
            .map(|(chunk, description)| {
                let task = CommandTask::new(self.spec.clone(), Payload::Chunk(chunk));
                (task, description)
            })
            .collect())
    }
}
