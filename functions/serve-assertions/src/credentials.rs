//! The Open Badges 3.0 credential of a claimed award: its JSON, its VC-JWT and its baked
//! images, all frozen in the file store by bake-images.

use accolade::domain::Award;
use accolade::http::{Representation, negotiate};
use accolade::openbadges::v3;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::response::Response;

use crate::canonical::{CredentialPath, Parsed, parse_credential_path};
use crate::{
    Deps, JWS_MEDIA_TYPE, ServeAssertions, badge_page, baked_image, frozen_file, not_found,
    public_award, redirect, with_file_name,
};

/// `GET /credentials/{id}`, `{id}.json`, `{id}.jwt` and `{id}/image.png|svg`.
pub(crate) async fn credentials(
    State(deps): State<Deps>,
    Path(rest): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let representation = negotiate(&headers);
    let (id, path) = match parse_credential_path(&rest, uri.query().is_some()) {
        Parsed::Canonical(parsed) => parsed,
        Parsed::Redirect(canonical) => return redirect(&deps, "credentials", &canonical),
        Parsed::NotFound => return not_found(representation, "credential", &rest),
    };
    let award = match public_award(&deps, representation, id, "credential").await {
        Ok(award) => award,
        Err(response) => return response,
    };

    match path {
        CredentialPath::Document if representation == Representation::Html => {
            badge_page(&deps, &award).await
        }
        CredentialPath::Document => credential_json(&deps, representation, &award, None).await,
        CredentialPath::Json => {
            let file_name = format!("badge-{id}.json");
            credential_json(&deps, representation, &award, Some(&file_name)).await
        }
        CredentialPath::Jwt => {
            // The JSON is written before the JWS, so the JWS alone marks a finished mint.
            let response = frozen_file(
                &deps,
                representation,
                v3::credential_jwt_key(id),
                JWS_MEDIA_TYPE,
                "credential",
                &award,
            )
            .await;
            with_file_name(response, &format!("badge-{id}.jwt"))
        }
        CredentialPath::Image(format) => {
            baked_image(
                &deps,
                representation,
                &award,
                v3::credential_image_key(id, format.extension()),
                format,
                &format!("badge-{id}-ob3.{}", format.extension()),
            )
            .await
        }
    }
}

/// Serves the frozen credential JSON as `application/vc+ld+json` (or `application/json` to
/// a client that accepts only that), once its JWS exists too.
async fn credential_json(
    deps: &ServeAssertions,
    representation: Representation,
    award: &Award,
    file_name: Option<&str>,
) -> Response {
    let id = award.id;
    let minted = frozen_file(
        deps,
        representation,
        v3::credential_jwt_key(id),
        JWS_MEDIA_TYPE,
        "credential",
        award,
    )
    .await;
    if !minted.status().is_success() {
        return minted;
    }
    let content_type = match representation {
        Representation::Json => "application/json",
        Representation::JsonLd | Representation::Html => v3::CREDENTIAL_MEDIA_TYPE,
    };
    let mut response = frozen_file(
        deps,
        representation,
        v3::credential_json_key(id),
        content_type,
        "credential",
        award,
    )
    .await;
    if response.status().is_success() {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    match file_name {
        Some(name) => with_file_name(response, name),
        None => response,
    }
}
