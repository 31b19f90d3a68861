//! The live turn: its shape (segments, tool cards) and its growing tail, streamed one markdown
//! block at a time.

use super::*;

/// The hook of a user message's attachment list.
const ATTACHMENTS: &str = "message-attachments";

#[component]
pub(super) fn LiveReply(store: Store<SessionView>) -> impl IntoView {
    let user = Memo::new(move |_| {
        store
            .live()
            .with(|l| l.as_ref().and_then(|l| l.user.clone()))
    });
    let attachments = Memo::new(move |_| {
        store.live().with(|l| {
            l.as_ref()
                .map(|l| l.attachments.clone())
                .unwrap_or_default()
        })
    });
    let segs = move || {
        store
            .live()
            .with(|l| l.as_ref().map(|l| l.segs.clone()).unwrap_or_default())
    };
    let compressing = Memo::new(move |_| {
        store
            .live()
            .with(|l| l.as_ref().and_then(|l| l.compressing.clone()))
    });
    let waiting = Memo::new(move |_| {
        store
            .live()
            .with(|l| l.as_ref().is_some_and(|l| l.segs.is_empty()))
    });
    view! {
        {move || {
            user.get()
                .map(|u| {
                    view! {
                        <article
                            class="msg user"
                            data-testid="message"
                            data-role="user"
                            data-pending="true"
                        >
                            <div class="bubble" data-testid="user-text">
                                {u}
                            </div>
                            {move || {
                                let a = attachments.get();
                                (!a.is_empty())
                                    .then(|| {
                                        view! {
                                            <ul class="attachments" data-testid=ATTACHMENTS>
                                                {a
                                                    .into_iter()
                                                    .map(|a| {
                                                        view! {
                                                            <li>
                                                                <crate::components::icons::Clip />
                                                                " "
                                                                {a}
                                                            </li>
                                                        }
                                                    })
                                                    .collect_view()}
                                            </ul>
                                        }
                                    })
                            }}
                        </article>
                    }
                })
        }}
        <article
            class="msg assistant live"
            data-testid="message"
            data-role="assistant"
            data-streaming="true"
            aria-busy="true"
        >
            <Show when=move || waiting.get()>
                <span class="typing" aria-label="Waiting for the reply">
                    <i></i>
                    <i></i>
                    <i></i>
                </span>
            </Show>
            <For
                each=segs
                key={|s: &LiveSeg| s.key}
                children={move |s: LiveSeg| view! { <LivePart seg=s store=store /> }}
            />
            {move || {
                compressing
                    .get()
                    .map(|c| {
                        view! {
                            <div class="divider" role="status" data-testid="compressing">
                                <span>{c} "…"</span>
                            </div>
                        }
                    })
            }}
            {lazy::view(move || lazy::now(live_steers(store)), lazy::nothing)}
        </article>
    }
}

#[component]
pub(super) fn LivePart(seg: LiveSeg, store: Store<SessionView>) -> impl IntoView {
    match seg.kind {
        LiveSegKind::Text { html } => {
            view! { <div class="md" inner_html=html.to_string()></div> }.into_any()
        }
        LiveSegKind::TextTail => view! {
            <StreamingMarkdown
                text=Signal::derive(move || store.tail().get())
                session=Signal::derive(move || store.id().get())
            />
        }
        .into_any(),
        LiveSegKind::Reasoning { text, live: false } => {
            view! { <Reasoning text=Signal::stored(text) live=false /> }.into_any()
        }
        LiveSegKind::Reasoning { live: true, .. } => {
            view! { <Reasoning text=Signal::derive(move || store.tail().get()) live=true /> }
                .into_any()
        }
        LiveSegKind::Tool(first) => {
            // The current state of this card (same key) from the live view.
            let key = seg.key;
            let card = Memo::new(move |_| {
                store.live().with(|l| {
                    l.as_ref()
                        .and_then(|l| l.segs.iter().find(|s| s.key == key))
                        .and_then(|s| {
                            if let LiveSegKind::Tool(c) = &s.kind {
                                Some(c.clone())
                            } else {
                                None
                            }
                        })
                        .unwrap_or_else(|| first.clone())
                })
            });
            view! { <ToolCardPanel card=card /> }.into_any()
        }
    }
}

/// Streaming markdown: finished blocks are rendered once and appended; only the growing last
/// block is re-rendered when the text changes (at most once per frame).
#[component]
pub fn StreamingMarkdown(text: Signal<Arc<str>>, session: Signal<String>) -> impl IntoView {
    let done_el = NodeRef::<html::Div>::new();
    let tail_el = NodeRef::<html::Div>::new();
    // (splitter, blocks appended, text length, the renderers that were in: see
    // `markdown::generation`, the tail's HTML on screen)
    let state: StoredValue<(BlockSplitter, usize, usize, u8, String), LocalStorage> =
        StoredValue::new_local((BlockSplitter::new(), 0, 0, 0, String::new()));
    Effect::new(move |_| {
        let text = text.get();
        let ready = crate::markdown::generation();
        // Re-render when a renderer arrives (the math one only where a formula may be: a
        // subscription to a chunk that never comes would stay for the effect's life).
        if !crate::lazy::ready(crate::lazy::Chunk::Markdown) {
            crate::lazy::track(crate::lazy::Chunk::Markdown);
        }
        let maybe_math = text.contains('$') || text.contains("\\(") || text.contains("\\[");
        if maybe_math && !crate::lazy::ready(crate::lazy::Chunk::Math) {
            crate::lazy::track(crate::lazy::Chunk::Math);
        }
        let session = session.get_untracked();
        let (Some(done), Some(tail)) = (done_el.get(), tail_el.get()) else {
            return;
        };
        state.update_value(|(splitter, rendered, last_len, was_ready, shown)| {
            // A shorter text is a new one; the renderer's arrival re-renders the plain blocks.
            if text.len() < *last_len || ready != *was_ready {
                *was_ready = ready;
                *splitter = BlockSplitter::new();
                *rendered = 0;
                done.set_inner_html("");
                shown.clear();
            }
            splitter.update(&text);
            for b in &splitter.done()[*rendered..] {
                let _ = done.insert_adjacent_html(
                    "beforeend",
                    &crate::markdown::block_html(&b.source(&text), &session, false),
                );
            }
            *rendered = splitter.done().len();
            let html =
                crate::markdown::block_html(&splitter.tail(&text).source(&text), &session, true);
            if !crate::markdown::append_in_place(&tail, shown, &html) {
                tail.set_inner_html(&html);
            }
            *shown = html;
            *last_len = text.len();
        });
    });
    view! {
        <div class="md streaming" data-testid="streaming-md">
            <div node_ref=done_el></div>
            <div node_ref=tail_el></div>
        </div>
    }
}
