use super::*;

fn no_ctx() -> NormalizeContext {
    NormalizeContext::default()
}

fn ctx_in(country: &str) -> NormalizeContext {
    NormalizeContext {
        country: Some(country.to_string()),
    }
}

fn norm(key: HashedKey, raw: &str) -> Result<String, PiiError> {
    normalize(key, raw, &no_ctx())
}

fn assert_vector(
    key: HashedKey,
    raw: &str,
    ctx: &NormalizeContext,
    normalized: &str,
    digest: &str,
) {
    assert_eq!(normalize(key, raw, ctx).unwrap(), normalized);
    assert_eq!(sha256_hex(normalized), digest);
    assert_eq!(hash_value(key, raw, ctx).unwrap(), digest);
}

#[test]
fn meta_email_vector_hashes_to_documented_digest() {
    let digest = "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f";
    assert_vector(
        HashedKey::Em,
        "John_Smith@gmail.com",
        &no_ctx(),
        "john_smith@gmail.com",
        digest,
    );
}

#[test]
fn meta_phone_vector_hashes_to_documented_digest() {
    let digest = "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176";
    assert_vector(
        HashedKey::Ph,
        "(650)555-1212",
        &ctx_in("us"),
        "16505551212",
        digest,
    );
}

#[test]
fn meta_first_name_vector_hashes_to_documented_digest() {
    let digest = "6915771be1c5aa0c886870b6951b03d7eafc121fea0e80a5ea83beb7c449f4ec";
    assert_vector(HashedKey::Fn, "Mary", &no_ctx(), "mary", digest);
}

#[test]
fn meta_accented_first_name_vector_keeps_the_accent() {
    let digest = "08e1996b5dd49e62a4b4c010d44e4345592a863bb9f8e3976219bac29417149c";
    assert_vector(HashedKey::Fn, "Valéry", &no_ctx(), "valéry", digest);
}

#[test]
fn meta_birth_date_vector_hashes_to_documented_digest() {
    let digest = "01acdbf6ec7b4f478a225f1a246e5d6767eeab1a7ffa17f025265b5b94f40f0c";
    assert_vector(HashedKey::Db, "2/16/1997", &no_ctx(), "19970216", digest);
}

#[test]
fn meta_country_vector_hashes_to_documented_digest() {
    let digest = "79adb2a2fce5c6ba215fe5f27f532d4e7edbac4b6a5e09e1ef3a08084a904621";
    assert_vector(HashedKey::Country, "United States", &no_ctx(), "us", digest);
}

#[test]
fn already_hashed_uppercase_value_passes_through_lowercased() {
    let upper = "62A14E44F765419D10FEA99367361A727C12365E2520F32218D505ED9AA0F62F";
    for key in HashedKey::ALL {
        let hashed = hash_value(key, &format!(" {upper} "), &no_ctx()).unwrap();
        assert_eq!(hashed, upper.to_ascii_lowercase());
        assert_eq!(
            normalize(key, upper, &no_ctx()).unwrap(),
            upper.to_ascii_lowercase()
        );
    }
}

#[test]
fn sha256_hex_detection_requires_exactly_64_hex_characters() {
    assert!(is_sha256_hex(&sha256_hex("x")));
    assert!(is_sha256_hex(&sha256_hex("x").to_uppercase()));
    assert!(!is_sha256_hex(&sha256_hex("x")[1..]));
    assert!(!is_sha256_hex(&format!("{}g", &sha256_hex("x")[1..])));
}

#[test]
fn key_names_round_trip_through_from_name() {
    for key in HashedKey::ALL {
        assert_eq!(HashedKey::from_name(key.name()), Some(key));
    }
    assert_eq!(
        HashedKey::from_name("external_id"),
        Some(HashedKey::ExternalId)
    );
    assert_eq!(HashedKey::from_name("email"), None);
}

#[test]
fn malformed_emails_are_rejected() {
    for bad in [
        "john",
        "john@",
        "@gmail.com",
        "john@gmail",
        "jo hn@gmail.com",
        "john@gmail.",
        "a@b@c.com",
    ] {
        assert!(norm(HashedKey::Em, bad).is_err(), "accepted {bad}");
    }
}

#[test]
fn error_messages_never_contain_the_raw_value() {
    let cases = [
        (HashedKey::Em, "secret.person@nowhere"),
        (HashedKey::Ph, "555-12"),
        (HashedKey::Ge, "nonbinarysecret"),
        (HashedKey::Db, "1997-02-30"),
        (HashedKey::Country, "Atlantisland"),
        (HashedKey::Fn, "12345"),
    ];
    for (key, raw) in cases {
        let error = norm(key, raw).unwrap_err();
        assert!(!error.message.contains(raw), "{} leaked", key.name());
        assert!(error.message.starts_with(key.name()));
    }
}

#[test]
fn empty_values_are_rejected_for_every_key() {
    for key in HashedKey::ALL {
        assert!(norm(key, "   ").is_err(), "{} accepted blank", key.name());
    }
}

#[test]
fn phone_keeps_digits_and_strips_leading_zeros() {
    assert_eq!(
        norm(HashedKey::Ph, "+44 20-7946.0958").unwrap(),
        "442079460958"
    );
    assert_eq!(
        norm(HashedKey::Ph, "0033 1 23 45 67 89").unwrap(),
        "33123456789"
    );
}

#[test]
fn ten_digit_phone_gets_nanp_prefix_only_in_us_or_canada() {
    assert_eq!(
        normalize(HashedKey::Ph, "650 555 1212", &ctx_in("ca")).unwrap(),
        "16505551212"
    );
    assert_eq!(
        normalize(HashedKey::Ph, "650 555 1212", &ctx_in("fr")).unwrap(),
        "6505551212"
    );
    assert_eq!(norm(HashedKey::Ph, "650 555 1212").unwrap(), "6505551212");
}

#[test]
fn phone_with_too_few_or_too_many_digits_is_rejected() {
    assert!(norm(HashedKey::Ph, "+1 (abc)").is_err());
    assert!(norm(HashedKey::Ph, "000").is_err());
    assert!(norm(HashedKey::Ph, "12345").is_err());
    assert!(norm(HashedKey::Ph, "1234567890123456").is_err());
}

#[test]
fn names_drop_punctuation_spaces_and_digits_but_keep_letters() {
    assert_eq!(
        norm(HashedKey::Ln, " O'Brien-Smith Jr. 3 ").unwrap(),
        "obriensmithjr"
    );
    assert_eq!(norm(HashedKey::Fn, "ÉLODIE").unwrap(), "élodie");
    assert_eq!(norm(HashedKey::Ln, "Müller").unwrap(), "müller");
    assert_eq!(
        norm(HashedKey::Fn, "Vale\u{301}ry").unwrap(),
        "vale\u{301}ry"
    );
    assert!(norm(HashedKey::Fn, "!!!").is_err());
}

#[test]
fn gender_words_map_to_single_letters() {
    for (raw, expected) in [
        ("F", "f"),
        ("Female", "f"),
        ("woman", "f"),
        ("m", "m"),
        ("MALE", "m"),
        ("Man", "m"),
    ] {
        assert_eq!(norm(HashedKey::Ge, raw).unwrap(), expected);
    }
    assert!(norm(HashedKey::Ge, "x").is_err());
}

#[test]
fn birth_dates_in_supported_formats_become_yyyymmdd() {
    let cases = [
        ("19970216", "19970216"),
        ("1997-02-16", "19970216"),
        ("1997/2/16", "19970216"),
        ("02/16/1997", "19970216"),
        ("2-16-1997", "19970216"),
        ("16.02.1997", "19970216"),
        ("03/04/1997", "19970304"),
    ];
    for (raw, expected) in cases {
        assert_eq!(norm(HashedKey::Db, raw).unwrap(), expected, "{raw}");
    }
}

#[test]
fn impossible_or_out_of_range_dates_are_rejected() {
    for bad in [
        "1997-02-30",
        "02/30/1997",
        "1850-01-01",
        "1997-13-01",
        "13/13/1997",
        "2023-02-29",
        "97-02-16",
    ] {
        assert!(norm(HashedKey::Db, bad).is_err(), "accepted {bad}");
    }
    assert_eq!(norm(HashedKey::Db, "2024-02-29").unwrap(), "20240229");
    let next_year = chrono::Utc::now().year() + 1;
    assert!(norm(HashedKey::Db, &format!("{next_year}0101")).is_err());
}

#[test]
fn city_keeps_only_lowercase_letters() {
    assert_eq!(
        norm(HashedKey::Ct, "San Francisco 94").unwrap(),
        "sanfrancisco"
    );
    assert_eq!(
        norm(HashedKey::Ct, "Saint-Étienne").unwrap(),
        "saintétienne"
    );
}

#[test]
fn us_state_names_map_to_postal_codes() {
    assert_eq!(norm(HashedKey::St, "California").unwrap(), "ca");
    assert_eq!(
        normalize(HashedKey::St, "new york", &ctx_in("us")).unwrap(),
        "ny"
    );
    assert_eq!(norm(HashedKey::St, "District of Columbia").unwrap(), "dc");
    assert_eq!(norm(HashedKey::St, "N.Y.").unwrap(), "ny");
    assert_eq!(
        normalize(HashedKey::St, "Georgia", &ctx_in("ge")).unwrap(),
        "georgia"
    );
}

#[test]
fn state_table_covers_fifty_states_and_dc() {
    let states = regions::pairs(regions::US_STATES)
        .filter(|(_, code)| !["as", "gu", "mp", "pr", "vi"].contains(code));
    let codes: std::collections::HashSet<&str> = states.map(|(_, code)| code).collect();
    assert_eq!(codes.len(), 51);
    assert!(codes.contains("dc"));
}

#[test]
fn zip_plus_four_keeps_the_first_five_digits() {
    assert_eq!(norm(HashedKey::Zp, "94105-1234").unwrap(), "94105");
    assert_eq!(
        normalize(HashedKey::Zp, "94105 1234", &ctx_in("us")).unwrap(),
        "94105"
    );
}

#[test]
fn non_us_postcodes_drop_spaces_and_dashes() {
    assert_eq!(norm(HashedKey::Zp, "SW1A 1AA").unwrap(), "sw1a1aa");
    assert_eq!(
        normalize(HashedKey::Zp, "1234-567", &ctx_in("pt")).unwrap(),
        "1234567"
    );
    assert!(normalize(HashedKey::Zp, "--", &ctx_in("pt")).is_err());
}

#[test]
fn country_codes_names_and_aliases_resolve_to_alpha2() {
    let cases = [
        ("US", "us"),
        ("USA", "us"),
        ("U.S.A.", "us"),
        ("United States of America", "us"),
        ("uk", "gb"),
        ("Great Britain", "gb"),
        ("DEU", "de"),
        ("Czech Republic", "cz"),
        ("Côte d'Ivoire", "ci"),
        ("St Kitts & Nevis", "kn"),
        ("South Korea", "kr"),
    ];
    for (raw, expected) in cases {
        assert_eq!(norm(HashedKey::Country, raw).unwrap(), expected, "{raw}");
    }
}

#[test]
fn unknown_countries_are_rejected() {
    for bad in ["Atlantis", "xx", "zz", "abc"] {
        assert!(norm(HashedKey::Country, bad).is_err(), "accepted {bad}");
    }
}

#[test]
fn country_table_has_every_iso_code_once_in_lookup_form() {
    let entries: Vec<_> = regions::country_entries().collect();
    let codes: std::collections::HashSet<&str> = entries.iter().map(|(a2, _, _)| *a2).collect();
    assert_eq!((entries.len(), codes.len()), (249, 249));
    for (alpha2, alpha3, names) in entries {
        assert_eq!(regions::country_code(alpha3), Some(alpha2));
        for name in names.split('/') {
            assert_eq!(regions::country_lookup_key(name), name);
            assert_eq!(regions::country_code(name), Some(alpha2), "{name}");
        }
    }
}

#[test]
fn country_aliases_are_in_lookup_form_and_point_at_real_codes() {
    for (alias, alpha2) in regions::pairs(regions::COUNTRY_ALIASES) {
        assert_eq!(regions::country_lookup_key(alias), alias);
        assert!(
            regions::country_entries().any(|(code, _, _)| code == alpha2),
            "{alias}"
        );
    }
}

#[test]
fn external_id_is_trimmed_and_lowercased() {
    assert_eq!(
        norm(HashedKey::ExternalId, "  User-ABC-42 ").unwrap(),
        "user-abc-42"
    );
    assert_eq!(
        hash_value(HashedKey::ExternalId, "u1", &no_ctx()).unwrap(),
        sha256_hex("u1")
    );
}

#[test]
fn metas_email_and_external_id_hashes_are_tiktoks_published_examples() {
    // TikTok hashes a trimmed, lowercased email and the external id as given: the hashes
    // Kickin stores for Meta go to TikTok unchanged.
    let ctx = NormalizeContext::default();
    let email = hash_value(HashedKey::Em, " ALICE_abc@gmail.com ", &ctx).unwrap();
    assert_eq!(
        email,
        "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f"
    );
    assert_eq!(
        sha256_hex("user_123"),
        "80fba0ae1c48e3978e43e4efc365e14e12ea0c830ba8ba5b9a2dafc7e3f2ab8b"
    );
}
