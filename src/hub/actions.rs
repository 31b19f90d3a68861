//! The user's actions, with their code in the later chunk ([`crate::lazy::Chunk::Later`]).
//!
//! Each is a split function that only builds the action's future (the `*_now` method of
//! [`Hub`]), so everything the future runs is cut out with it. Run through [`crate::lazy::run`], an
//! action loads the chunk first if it is not in yet (it normally is: the pane asks for it at
//! start); if the chunk cannot be loaded the caller says so, and a send keeps its draft.

use pane_core::wire::{Approval, ApprovalChoice, ClarifyRespond, UploadedFile};

use super::Hub;
use crate::lazy::{NotLoaded, Task};

/// One split function per action: `name(args) -> output => body` builds the boxed future.
macro_rules! later {
    ($(#[$doc:meta])* $name:ident($($arg:ident: $ty:ty),*) -> $out:ty => $body:expr) => {
        $(#[$doc])*
        #[cfg_attr(feature = "split", wasm_split_helpers::wasm_split(later, fallible))]
        pub(super) fn $name($($arg: $ty),*) -> Result<Task<$out>, NotLoaded> {
            Ok(Box::pin(async move { $body }))
        }
    };
}

later!(send(hub: Hub, id: String, text: String, uploads: Vec<UploadedFile>) -> Result<(), String> => hub.send_now(&id, &text, uploads).await);
later!(stop(hub: Hub, id: String, stream: String) -> () => hub.stop_now(id, stream).await);
later!(approve(hub: Hub, id: String, a: Approval, choice: ApprovalChoice) -> () => hub.approve_now(id, a, choice).await);
later!(answer(hub: Hub, id: String, body: ClarifyRespond) -> () => hub.answer_now(id, body).await);
later!(rename(hub: Hub, id: String, title: String) -> () => hub.rename_now(id, title).await);
later!(set_flag(hub: Hub, id: String, flag: &'static str, on: bool) -> () => hub.set_flag_now(id, flag, on).await);
later!(delete(hub: Hub, id: String) -> () => hub.delete_now(id).await);
later!(retry(hub: Hub, id: String) -> () => hub.retry_now(id).await);
later!(edit_resend(hub: Hub, id: String, index: u64, text: String) -> Result<(), String> => hub.edit_resend_now(&id, index, &text).await);
later!(search(hub: Hub, q: String, seq: u64) -> () => hub.search_now(q, seq).await);
later!(poll_prompts(hub: Hub, id: String) -> () => hub.poll_prompts_now(id).await);
later!(page_in(hub: Hub, id: String, all: bool, key: String) -> () => hub.page_in_now(id, all, key).await);
later!(new_session(hub: Hub) -> Result<String, String> => hub.new_session_now().await);
