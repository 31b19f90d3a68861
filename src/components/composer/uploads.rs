//! Attachments: uploading each chosen file with its own progress, and the list (later chunk).

use super::*;

pub(super) fn upload_list_body(attachments: RwSignal<Vec<Attachment>>) -> AnyView {
    view! {
        <Show when=move || attachments.with(|a| !a.is_empty())>
            <ul class="uploads" data-testid="attachments">
                <For
                    each=move || attachments.get()
                    key={|a: &Attachment| (
                        a.key,
                        a.done.is_some(),
                        a.error.clone(),
                        (a.progress * 20.0) as u32,
                    )}
                    children={move |a: Attachment| {
                        let key = a.key;
                        view! {
                            <li
                                class="chip"
                                data-testid="attachment"
                                class:failed=a.error.is_some()
                            >
                                <span>
                                    <crate::components::icons::Clip />
                                    " "
                                    {a.name.clone()}
                                </span>
                                {match (&a.done, &a.error) {
                                    (Some(_), _) => {
                                        view! { <span class="muted">"ready"</span> }.into_any()
                                    }
                                    (_, Some(e)) => {
                                        view! {
                                            <span class="error-text" role="alert">
                                                {e.clone()}
                                            </span>
                                        }
                                            .into_any()
                                    }
                                    _ => {
                                        view! {
                                            <progress
                                                max="1"
                                                value=pane_core::view::fixed(a.progress, 3)
                                                data-testid="upload-progress"
                                            ></progress>
                                        }
                                            .into_any()
                                    }
                                }}
                                <button
                                    type="button"
                                    class="icon-btn"
                                    aria-label="Remove attachment"
                                    data-testid="remove-attachment"
                                    on:click=move |_| {
                                        attachments.update(|x| x.retain(|y| y.key != key))
                                    }
                                >
                                    "×"
                                </button>
                            </li>
                        }
                    }}
                />
            </ul>
        </Show>
    }
    .into_any()
}

/// The attachments being uploaded or ready to send (their code is in the later chunk, as is
/// the upload's).
#[component]
pub(super) fn UploadList(attachments: RwSignal<Vec<Attachment>>) -> impl IntoView {
    lazy::view(move || lazy::now(upload_list(attachments)), lazy::nothing)
}

/// Starts uploading the chosen files, each with its own progress and outcome.
#[cfg_attr(feature = "split", wasm_split_helpers::wasm_split(later, fallible))]
pub(super) fn start_uploads(
    hub: Hub,
    sid: String,
    files: Vec<web_sys::File>,
    attachments: RwSignal<Vec<Attachment>>,
    next_key: StoredValue<u64>,
) -> Result<Task<()>, NotLoaded> {
    for file in files {
        let key = next_key.get_value() + 1;
        next_key.set_value(key);
        attachments.update(|a| {
            a.push(Attachment {
                key,
                name: file.name(),
                progress: 0.0,
                done: None,
                error: None,
            })
        });
        let update = move |f: &dyn Fn(&mut Attachment)| {
            attachments.update(|a| a.iter_mut().filter(|x| x.key == key).for_each(f))
        };
        crate::api::upload(
            hub.api(),
            &sid,
            &file,
            move |p| update(&|x| x.progress = p),
            move |r| match r {
                Ok(reply) => update(&|x| x.done = Some(reply.clone().into())),
                Err(e) => update(&|x| x.error = Some(e.message.clone())),
            },
        );
    }
    Ok(Box::pin(async {}))
}
