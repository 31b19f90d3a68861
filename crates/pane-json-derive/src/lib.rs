//! `#[derive(FromJson)]`: implements `pane_core::json::FromJson` for a struct with named
//! fields, reading each field with `pane_core::json::field` under its wire name — the field's
//! own name, or the `rename` of its `#[serde(rename = "…")]` attribute (the one the type's
//! `Serialize` already uses), so a struct lists its fields once. Inside `pane-core` the crate
//! is named `crate`; the generated code uses `crate::json`, so the derive is for pane-core's
//! own types.

use proc_macro::TokenStream;
use quote::quote;
use syn::{parse_macro_input, Data, DeriveInput, Fields, LitStr};

#[proc_macro_derive(FromJson, attributes(serde))]
pub fn derive_from_json(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    let name = &input.ident;
    let fields = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(f) => &f.named,
            _ => return error(name, "FromJson needs named fields"),
        },
        _ => return error(name, "FromJson is derived for structs"),
    };
    let mut reads = Vec::new();
    for f in fields {
        let ident = f.ident.as_ref().expect("named");
        let key = match wire_name(f) {
            Ok(k) => k.unwrap_or_else(|| ident.to_string()),
            Err(e) => return e.to_compile_error().into(),
        };
        reads.push(quote! { #ident: crate::json::field(m, #key)? });
    }
    let what = name.to_string();
    let (imp, ty, wher) = input.generics.split_for_impl();
    quote! {
        impl #imp crate::json::FromJson for #name #ty #wher {
            fn from_json(
                v: &::serde_json::Value
            ) -> ::std::result::Result<Self, crate::json::JsonError> {
                let m = crate::json::object(v, #what)?;
                Ok(#name { #(#reads,)* })
            }
        }
    }
    .into()
}

/// The `rename` of a field's `#[serde(rename = "…")]`, if it has one.
fn wire_name(f: &syn::Field) -> syn::Result<Option<String>> {
    let mut name = None;
    for attr in f.attrs.iter().filter(|a| a.path().is_ident("serde")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                name = Some(meta.value()?.parse::<LitStr>()?.value());
            } else if meta.input.peek(syn::Token![=]) {
                // Another `key = "value"` (e.g. `skip_serializing_if`): not ours.
                let _ = meta.value()?.parse::<syn::Lit>()?;
            }
            Ok(())
        })?;
    }
    Ok(name)
}

fn error(name: &syn::Ident, msg: &str) -> TokenStream {
    syn::Error::new(name.span(), msg).to_compile_error().into()
}
