//! The demo issuer a fresh local stack starts with: a music education service, one
//! achievement per level with its artwork, and a partner client whose credentials are
//! written to `DATA_DIR/demo-client.json`.

use std::path::Path;

use accolade::baking::{ImageLimits, inspect_image};
use accolade::crypto::{client_secret_hash, sha256_hex};
use accolade::domain::{
    Achievement, AchievementId, AchievementImages, ApiClient, ClientId, EmailAddress, HttpsUrl,
    ImageKey, Issuer, IssuerId, Level, Scopes, StoredImage, Text, TextLimit,
};
use accolade::ports::{Clock, FileStore, Random, Store};
use accolade::urls::PublicUrls;
use anyhow::Context;

use crate::import::Credentials;

/// The setting that records the demo issuer, so the demo is seeded once per data folder.
const DEMO_ISSUER_SETTING: &str = "demo_issuer_id";
/// The demo partner client's id.
pub const DEMO_CLIENT_ID: &str = "demo-partner";
/// The credentials file's name inside the data folder.
pub const CREDENTIALS_FILE: &str = "demo-client.json";

struct LevelArtwork {
    level: Level,
    name: &'static str,
    description: &'static str,
    criteria: &'static str,
    png: &'static [u8],
    svg: &'static [u8],
}

const ARTWORK: [LevelArtwork; 4] = [
    LevelArtwork {
        level: Level::Engage,
        name: "Engage: First Steps in Music",
        description: "Took a first step into music making with the Riverside Music Service.",
        criteria: "Came to an open day, a taster session or a live performance run by the Riverside Music Service.",
        png: include_bytes!("../assets/levels/engage.png"),
        svg: include_bytes!("../assets/levels/engage.svg"),
    },
    LevelArtwork {
        level: Level::Participate,
        name: "Participate: Holiday Course Musician",
        description: "Made music with others on a week-long holiday course.",
        criteria: "Took part in every day of a Riverside Music Service holiday course: rehearsing in sections and full ensemble, and performing in the final concert.",
        png: include_bytes!("../assets/levels/participate.png"),
        svg: include_bytes!("../assets/levels/participate.svg"),
    },
    LevelArtwork {
        level: Level::Demonstrate,
        name: "Demonstrate: Committed Ensemble Member",
        description: "Showed sustained commitment to an ensemble and set an example to others.",
        criteria: "Attended at least 30 ensemble rehearsals in a year, performed in two concerts, and helped newer members settle in.",
        png: include_bytes!("../assets/levels/demonstrate.png"),
        svg: include_bytes!("../assets/levels/demonstrate.svg"),
    },
    LevelArtwork {
        level: Level::Lead,
        name: "Lead: Youth Music Leader",
        description: "Led others in music: a section, a workshop or the youth advisory board.",
        criteria: "Led a section or a workshop, or served a full term on the Riverside Music Service youth advisory board.",
        png: include_bytes!("../assets/levels/lead.png"),
        svg: include_bytes!("../assets/levels/lead.svg"),
    },
];

/// The ports the seeding writes through.
pub struct SeedPorts<'a> {
    pub store: &'a dyn Store,
    pub files: &'a dyn FileStore,
    pub clock: &'a dyn Clock,
    pub random: &'a dyn Random,
}

/// Seeds the demo issuer once per data folder and makes sure `demo-client.json` exists.
/// Returns the credentials.
pub async fn ensure_demo(
    ports: &SeedPorts<'_>,
    urls: &PublicUrls,
    data_dir: &Path,
) -> anyhow::Result<Credentials> {
    let candidate = IssuerId::from_uuid(ports.random.uuid());
    let stored = ports
        .store
        .put_setting_if_absent(DEMO_ISSUER_SETTING, &candidate.to_string())
        .await?;
    let issuer_id: IssuerId = stored
        .parse()
        .context("the stored demo issuer id is invalid")?;
    if issuer_id == candidate || ports.store.get_issuer(issuer_id).await?.is_none() {
        seed_issuer(ports, issuer_id).await?;
        tracing::info!(issuer.id = %issuer_id, "created the demo issuer and its four level achievements");
    }

    let credentials_path = data_dir.join(CREDENTIALS_FILE);
    if let Ok(bytes) = std::fs::read(&credentials_path)
        && let Ok(credentials) = serde_json::from_slice::<Credentials>(&bytes)
    {
        return Ok(credentials);
    }
    // No readable credentials file: make (or re-key) the demo client and write a new one.
    let secret = ports.random.token();
    let client = ApiClient {
        client_id: ClientId::parse(DEMO_CLIENT_ID)?,
        issuer_id,
        name: Text::parse("name", "Demo partner (event booking)", TextLimit::NAME)?,
        secret_hash: client_secret_hash(&secret),
        scopes: Scopes::all(),
        disabled: false,
        created_at: ports.clock.now(),
    };
    ports.store.put_client(&client).await?;
    let credentials = Credentials {
        client_id: DEMO_CLIENT_ID.to_owned(),
        client_secret: secret,
        token_url: urls.token_endpoint(),
        api_url: urls.api(),
    };
    write_private_file(&credentials_path, &serde_json::to_vec_pretty(&credentials)?)?;
    tracing::info!(path = %credentials_path.display(), "wrote the demo partner client's credentials");
    Ok(credentials)
}

async fn seed_issuer(ports: &SeedPorts<'_>, issuer_id: IssuerId) -> anyhow::Result<()> {
    let now = ports.clock.now();
    let issuer = Issuer {
        id: issuer_id,
        name: Text::parse("name", "Riverside Music Service", TextLimit::NAME)?,
        url: HttpsUrl::parse("url", "https://music.example.org/")?,
        email: EmailAddress::parse("badges@music.example.org")?,
        description: Some(Text::parse(
            "description",
            "A music education service for young people: lessons, ensembles, holiday courses and concerts.",
            TextLimit::LONG,
        )?),
        image: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    match ports.store.create_issuer(&issuer).await {
        Ok(()) | Err(accolade::ports::StoreError::AlreadyExists) => {}
        Err(error) => return Err(error.into()),
    }

    for artwork in &ARTWORK {
        let id = AchievementId::from_uuid(ports.random.uuid());
        let png = store_image(ports.files, id, artwork.png, "png", "image/png").await?;
        let svg = store_image(ports.files, id, artwork.svg, "svg", "image/svg+xml").await?;
        let achievement = Achievement {
            id,
            issuer_id,
            name: Text::parse("name", artwork.name, TextLimit::NAME)?,
            description: Text::parse("description", artwork.description, TextLimit::LONG)?,
            criteria_narrative: Text::parse("criteria", artwork.criteria, TextLimit::CRITERIA)?,
            criteria_url: None,
            level: Some(artwork.level),
            tags: vec![Text::parse("tags", "music", TextLimit::NAME)?],
            images: AchievementImages {
                png: Some(png),
                svg: Some(svg),
            },
            created_at: now,
        };
        ports.store.create_achievement(&achievement).await?;
    }
    Ok(())
}

async fn store_image(
    files: &dyn FileStore,
    id: AchievementId,
    bytes: &[u8],
    extension: &str,
    media_type: &str,
) -> anyhow::Result<StoredImage> {
    let info = inspect_image(bytes, &ImageLimits::default())
        .with_context(|| format!("the built-in {extension} artwork failed the upload check"))?;
    let key = format!("achievements/{id}/image.{extension}");
    files.put(&key, bytes.to_vec(), media_type).await?;
    Ok(StoredImage {
        key: ImageKey(key),
        media_type: media_type.to_owned(),
        width: info.width,
        height: info.height,
        sha256: sha256_hex(bytes),
    })
}

/// Writes a file only its owner can read (it holds secrets).
pub fn write_private_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;

    let temporary = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options
        .open(&temporary)
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
