//! The scenario catalogue, by area. Every scenario names the specification section (or the
//! reference) it checks; ids are stable because expectation files and golden results key on them.

mod hygiene;
mod policy;
mod reimport;
mod vectors;
mod wrap;

pub use wrap::CKM_KWP;

use crate::scenario::{Check, Ctx, Scenario};

/// Every scenario, in report order.
pub fn all() -> Vec<Scenario> {
    let mut all = Vec::new();
    all.extend(wrap::scenarios());
    all.extend(reimport::scenarios());
    all.extend(policy::scenarios());
    all.extend(vectors::scenarios());
    all.extend(hygiene::scenarios());
    all
}

/// Builds a scenario.
pub(crate) fn scenario(
    id: impl Into<String>,
    tags: &'static [&'static str],
    reference: &'static str,
    description: impl Into<String>,
    run: impl Fn(&Ctx<'_>) -> Check + 'static,
) -> Scenario {
    Scenario {
        id: id.into(),
        tags,
        reference,
        description: description.into(),
        run: Box::new(run),
    }
}
