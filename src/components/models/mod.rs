//! The model picker in a session's header: the models the backend offers (`GET /api/models`),
//! the session's own selected; choosing one sets it on the server (`/api/session/update`, with
//! the provider of its group, as the stock UI does), and the next turn uses it. In the later
//! chunk (the header shows nothing until it is in).

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use pane_core::Input;

use crate::hub::ToastKind;
use crate::use_hub;

/// `(model, provider, label)` of each choice.
type Choices = Rc<Vec<(String, Option<String>, String)>>;

thread_local! {
    /// The backend's models, fetched once for every pane.
    static MODELS: RefCell<Option<Choices>> = const { RefCell::new(None) };
}

crate::later_fns! {
    fn model_picker(
        id: StoredValue<String>,
        model: Signal<Option<String>>,
    ) -> AnyView as preload_picker => model_picker_body;
}

/// The picker (nothing until the later chunk is in, or without the backend's list).
#[component]
pub fn ModelPicker(id: StoredValue<String>, model: Signal<Option<String>>) -> impl IntoView {
    crate::lazy::view(
        move || crate::lazy::now(model_picker(id, model)),
        crate::lazy::nothing,
    )
}

fn model_picker_body(id: StoredValue<String>, model: Signal<Option<String>>) -> AnyView {
    let hub = use_hub();
    let choices = RwSignal::new_local(MODELS.with(|m| m.borrow().clone()));
    if choices.get_untracked().is_none() {
        leptos::task::spawn_local(async move {
            match hub.api().models().await {
                Ok(list) => {
                    let c: Choices = Rc::new(list.choices());
                    MODELS.with(|m| *m.borrow_mut() = Some(c.clone()));
                    choices.set(Some(c));
                }
                // Without the list the header shows no picker; the session keeps its model.
                Err(e) => leptos::logging::warn!("models: {}", e.message),
            }
        });
    }
    let select = NodeRef::<leptos::html::Select>::new();
    let on_change = move |_| {
        let Some(el) = select.get() else { return };
        let index = el.selected_index();
        let Some((m, provider)) = choices.with_untracked(|c| {
            c.as_ref()
                .and_then(|c| c.get(index.max(0) as usize))
                .map(|(m, p, _)| (m.clone(), p.clone()))
        }) else {
            return;
        };
        let sid = id.get_value();
        leptos::task::spawn_local(async move {
            let at = hub.ticket();
            match hub.api().set_model(&sid, &m, provider.as_deref()).await {
                Ok(env) => hub.update(
                    Some(&sid),
                    Input::Loaded {
                        session: sid.clone(),
                        detail: env.session,
                        messages: false,
                        at,
                    },
                ),
                Err(e) => {
                    hub.toast(ToastKind::Error, e.message, Some(sid.clone()));
                    // Back to the session's model.
                    hub.paint_now(&sid);
                }
            }
        });
    };
    view! {
        {move || {
            choices
                .get()
                .map(|c| {
                    view! {
                        <select
                            class="model-picker"
                            data-testid="model-picker"
                            aria-label="Model for this session"
                            title="Model for this session (its next turn uses it)"
                            node_ref=select
                            on:change=on_change
                        >
                            {c
                                .iter()
                                .map(|(m, p, label)| {
                                    let me = m.clone();
                                    let selected = move || model.with(|x| x.as_ref() == Some(&me));
                                    // Follows the session's model without rebuilding the list
                                    // (a keyboard user keeps the focus).
                                    view! {
                                        <option
                                            value=m.clone()
                                            data-provider=p.clone().unwrap_or_default()
                                            prop:selected=selected
                                        >
                                            {label.clone()}
                                        </option>
                                    }
                                })
                                .collect_view()}
                        </select>
                    }
                })
        }}
    }
    .into_any()
}
