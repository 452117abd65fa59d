//! The OpenAPI description of `/api/v1`, generated from the handlers' `#[utoipa::path]`
//! annotations. Served at `/api/v1/openapi.json`; a copy is checked in at docs/api/openapi.json
//! and a test fails when the two differ (see docs/api/README.md to regenerate it).

use super::{api, api_common, api_export as export, api_pipelines as pipelines, api_teams as teams, api_workers as workers, pipelines_api as setting};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "pikoci API", description = "Pipelines, jobs, builds, resources, teams and users of a pikoci server. \
        Send `Authorization: Bearer <token>` (from `POST /api/v1/login` or an API token). Roles per team: viewer reads, \
        operator also triggers, pauses, pins, cancels and retries, owner also sets and deletes pipelines and manages members; \
        admins may do everything. Public pipelines are readable without a token. Errors are `{\"error\": \"...\"}`."),
    paths(
        api::login, api::build, api::build_log, api::build_events, api::cancel_build, api::retry_build,
        setting::put_pipeline, setting::list_pipelines, setting::job_builds, setting::trigger_job, setting::webhook, setting::regenerate_webhook,
        pipelines::get_pipeline, pipelines::delete_pipeline, pipelines::pause_pipeline, pipelines::unpause_pipeline,
        pipelines::expose_pipeline, pipelines::hide_pipeline, pipelines::graph, pipelines::pipeline_builds,
        pipelines::list_jobs, pipelines::get_job, pipelines::pause_job, pipelines::unpause_job, pipelines::job_build,
        pipelines::list_resources, pipelines::get_resource, pipelines::resource_versions, pipelines::check_resource,
        pipelines::pin_version, pipelines::unpin,
        teams::list_teams, teams::create_team, teams::list_members, teams::set_member, teams::remove_member,
        teams::list_users, teams::create_user, teams::me, teams::list_tokens, teams::create_token, teams::revoke_token,
        workers::list_workers,
        export::export,
    ),
    components(schemas(api_common::ErrorBody)),
    modifiers(&BearerAuth),
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// The spec as served. The version is pikoci's, so a release's spec says which release it describes.
pub fn spec() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}

/// The spec as checked in: pretty JSON with a final newline.
pub fn spec_json() -> String {
    spec().to_pretty_json().expect("the spec serialises") + "\n"
}
