//! The demo export (examples/export-demo, its own code included here) on a
//! real log: the tenant registered and its daily statements submitted, for
//! the tests of `verify-export` and of the page's offline check.

use rootlog::note::Signer;

use super::{Server, ADMIN_TOKEN};

#[path = "../../examples/export-demo/generate.rs"]
pub mod generate;
#[path = "../../examples/export-demo/receipts.rs"]
pub mod receipts;

/// Generates tenant `tenant`'s export, registers it and submits its statements.
pub async fn publish_export(
    server: &Server,
    tenant: &str,
    seed: u64,
    swap: Option<(usize, usize)>,
) -> (Signer, generate::Generated) {
    let signer = Signer::generate(tenant).unwrap();
    let first_day = time::OffsetDateTime::now_utc().date() - time::Duration::days(6);
    let options = generate::Options {
        tenant: tenant.into(),
        first_day,
        days: 5,
        records_per_day: 500,
        seed,
        published_to: server.url.clone(),
        swap_statements: swap,
    };
    let generated = generate::generate(&signer, &options);
    let client = server.client();
    let (status, _) = client
        .add_tenant(ADMIN_TOKEN, tenant, &signer.vkey())
        .await
        .unwrap();
    assert_eq!(status, 201);
    for statement in &generated.statements {
        let (status, _) = client.submit(statement).await.unwrap();
        assert_eq!(status, 201);
    }
    (signer, generated)
}
