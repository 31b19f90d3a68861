//! Sending what the composer holds (later chunk): a message (with its uploads), a slash
//! command, or a steer of the running reply. The text leaves the box at once (a second Enter
//! cannot send it twice) and comes back with the reason if it could not go.

use super::*;

/// The composer's pieces a send touches (all handles: `Copy`).
#[derive(Clone, Copy)]
pub(super) struct Parts {
    pub hub: Hub,
    pub sid: StoredValue<String>,
    pub text: RwSignal<String>,
    pub input: NodeRef<html::Textarea>,
    pub error: RwSignal<Option<String>>,
    pub attachments: RwSignal<Vec<Attachment>>,
    pub uploading: Memo<bool>,
    pub slash: Slash,
}

crate::later!(pub(super) submit_message(parts: Parts, steer: bool) -> () => submit_body);

/// `steer`: steer the running reply (the attachments stay for a message).
pub(super) async fn submit_body(p: Parts, steer: bool) {
    let value = p.text.get_untracked();
    let uploads: Vec<UploadedFile> = if steer {
        Vec::new()
    } else {
        p.attachments
            .with_untracked(|a| a.iter().filter_map(|x| x.done.clone()).collect())
    };
    if (value.trim().is_empty() && uploads.is_empty()) || (!steer && p.uploading.get_untracked()) {
        return;
    }
    p.slash.items.set(Vec::new());
    p.error.set(None);
    let id = p.sid.get_value();
    // Cleared at once so a second Enter cannot double-send; restored if the send fails.
    p.text.set(String::new());
    persist::set_draft(&id, "");
    if let Some(el) = p.input.get_untracked() {
        el.set_value("");
        autogrow(&el);
    }
    let kept = p.attachments.get_untracked();
    if !steer {
        p.attachments.set(Vec::new());
    }
    let sent = if steer {
        p.hub.steer(&id, &value).await
    } else if uploads.is_empty() && value.trim_start().starts_with('/') {
        p.hub.run_command(&id, &value).await
    } else {
        p.hub.send(&id, &value, uploads).await
    };
    if let Err(e) = sent {
        p.error.set(Some(e));
        p.text.set(value.clone());
        persist::set_draft(&id, &value);
        if !steer {
            p.attachments.set(kept);
        }
        // The composer may be gone by now (its pane evicted): the draft above is kept.
        if let Some(Some(el)) = p.input.try_get_untracked() {
            el.set_value(&value);
            autogrow(&el);
        }
    }
}
