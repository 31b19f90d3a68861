//! UI components, a folder each with its CSS. They read narrow pieces of the hub's stores
//! and call hub methods; none owns a transport.

pub mod cards;
pub mod composer;
pub mod icons;
pub mod layout;
pub mod notices;
pub mod pane;
pub mod shortcuts;
pub mod sidebar;
pub mod theme;
pub mod transcript;

/// Loads the later chunk ([`crate::lazy::Chunk::Later`]): one fetch, then every split
/// function called synchronously (through `lazy::now`) has its own loader primed — each keeps
/// its own, so one left out here would never run (`lazy::now` flags that as a bug). Split
/// actions await their chunk and need no entry.
#[cfg(feature = "split")]
pub(crate) async fn preload_later() -> Result<(), crate::lazy::NotLoaded> {
    cards::preload().await?;
    composer::preload().await?;
    shortcuts::preload().await?;
    sidebar::preload().await?;
    transcript::preload().await
}
