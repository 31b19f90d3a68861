//! UI components, a folder each with its CSS. They read narrow pieces of the hub's stores
//! and call hub methods; none owns a transport.

pub mod cards;
pub mod composer;
pub mod icons;
pub mod layout;
pub mod meter;
pub mod models;
pub mod notices;
pub mod pane;
pub mod plan;
pub mod shortcuts;
pub mod sidebar;
pub mod theme;
pub mod transcript;

/// The modules with functions in the later chunk (each declares them with
/// [`crate::later_fns!`], which generates its `preload`) are listed once, in
/// `preload_later!` below. (The modules themselves are declared above, outside the macro, so
/// rustfmt formats them.)
macro_rules! preload_later {
    ($($m:ident),* $(,)?) => {

        /// Loads the later chunk ([`crate::lazy::Chunk::Later`]): one fetch, then every split
        /// function called synchronously (through `lazy::now`) has its own loader primed —
        /// each keeps its own. A module left out of this list leaves its generated `preload`
        /// unused (refused by the lint phase); one listed without `later_fns!` does not
        /// compile. Split actions await their chunk and need no entry.
        #[cfg(feature = "split")]
        pub(crate) async fn preload_later() -> Result<(), crate::lazy::NotLoaded> {
            $($m::preload().await?;)*
            Ok(())
        }
    };
}

#[cfg(feature = "split")]
use crate::hub::tabs;

preload_later!(cards, composer, meter, models, plan, shortcuts, sidebar, tabs, transcript);
