//! Reference tables for normalization: ISO 3166-1 countries and US states.

use std::collections::HashMap;
use std::sync::LazyLock;

/// Every ISO 3166-1 entry as `alpha2:alpha3:name[/common name]`, names
/// already in lookup-key form (see [`country_lookup_key`]).
/// Source: Debian iso-codes `iso_3166-1.json` (249 entries).
pub(super) const COUNTRIES: &str = "\
ad:and:andorra;ae:are:united arab emirates;af:afg:afghanistan;\
ag:atg:antigua and barbuda;ai:aia:anguilla;al:alb:albania;am:arm:armenia;ao:ago:angola;\
aq:ata:antarctica;ar:arg:argentina;as:asm:american samoa;at:aut:austria;\
au:aus:australia;aw:abw:aruba;ax:ala:aland islands;az:aze:azerbaijan;\
ba:bih:bosnia and herzegovina;bb:brb:barbados;bd:bgd:bangladesh;be:bel:belgium;\
bf:bfa:burkina faso;bg:bgr:bulgaria;bh:bhr:bahrain;bi:bdi:burundi;bj:ben:benin;\
bl:blm:saint barthelemy;bm:bmu:bermuda;bn:brn:brunei darussalam;\
bo:bol:bolivia plurinational state of/bolivia;bq:bes:bonaire sint eustatius and saba;\
br:bra:brazil;bs:bhs:bahamas;bt:btn:bhutan;bv:bvt:bouvet island;bw:bwa:botswana;\
by:blr:belarus;bz:blz:belize;ca:can:canada;cc:cck:cocos keeling islands;\
cd:cod:congo the democratic republic of the;cf:caf:central african republic;\
cg:cog:congo;ch:che:switzerland;ci:civ:cote divoire;ck:cok:cook islands;cl:chl:chile;\
cm:cmr:cameroon;cn:chn:china;co:col:colombia;cr:cri:costa rica;cu:cub:cuba;\
cv:cpv:cabo verde;cw:cuw:curacao;cx:cxr:christmas island;cy:cyp:cyprus;cz:cze:czechia;\
de:deu:germany;dj:dji:djibouti;dk:dnk:denmark;dm:dma:dominica;do:dom:dominican republic;\
dz:dza:algeria;ec:ecu:ecuador;ee:est:estonia;eg:egy:egypt;eh:esh:western sahara;\
er:eri:eritrea;es:esp:spain;et:eth:ethiopia;fi:fin:finland;fj:fji:fiji;\
fk:flk:falkland islands malvinas;fm:fsm:micronesia federated states of;\
fo:fro:faroe islands;fr:fra:france;ga:gab:gabon;gb:gbr:united kingdom;gd:grd:grenada;\
ge:geo:georgia;gf:guf:french guiana;gg:ggy:guernsey;gh:gha:ghana;gi:gib:gibraltar;\
gl:grl:greenland;gm:gmb:gambia;gn:gin:guinea;gp:glp:guadeloupe;gq:gnq:equatorial guinea;\
gr:grc:greece;gs:sgs:south georgia and the south sandwich islands;gt:gtm:guatemala;\
gu:gum:guam;gw:gnb:guinea bissau;gy:guy:guyana;hk:hkg:hong kong;\
hm:hmd:heard island and mcdonald islands;hn:hnd:honduras;hr:hrv:croatia;ht:hti:haiti;\
hu:hun:hungary;id:idn:indonesia;ie:irl:ireland;il:isr:israel;im:imn:isle of man;\
in:ind:india;io:iot:british indian ocean territory;iq:irq:iraq;\
ir:irn:iran islamic republic of/iran;is:isl:iceland;it:ita:italy;je:jey:jersey;\
jm:jam:jamaica;jo:jor:jordan;jp:jpn:japan;ke:ken:kenya;kg:kgz:kyrgyzstan;\
kh:khm:cambodia;ki:kir:kiribati;km:com:comoros;kn:kna:saint kitts and nevis;\
kp:prk:korea democratic peoples republic of/north korea;\
kr:kor:korea republic of/south korea;kw:kwt:kuwait;ky:cym:cayman islands;\
kz:kaz:kazakhstan;la:lao:lao peoples democratic republic/laos;lb:lbn:lebanon;\
lc:lca:saint lucia;li:lie:liechtenstein;lk:lka:sri lanka;lr:lbr:liberia;ls:lso:lesotho;\
lt:ltu:lithuania;lu:lux:luxembourg;lv:lva:latvia;ly:lby:libya;ma:mar:morocco;\
mc:mco:monaco;md:mda:moldova republic of/moldova;me:mne:montenegro;\
mf:maf:saint martin french part;mg:mdg:madagascar;mh:mhl:marshall islands;\
mk:mkd:north macedonia;ml:mli:mali;mm:mmr:myanmar;mn:mng:mongolia;mo:mac:macao;\
mp:mnp:northern mariana islands;mq:mtq:martinique;mr:mrt:mauritania;ms:msr:montserrat;\
mt:mlt:malta;mu:mus:mauritius;mv:mdv:maldives;mw:mwi:malawi;mx:mex:mexico;\
my:mys:malaysia;mz:moz:mozambique;na:nam:namibia;nc:ncl:new caledonia;ne:ner:niger;\
nf:nfk:norfolk island;ng:nga:nigeria;ni:nic:nicaragua;nl:nld:netherlands;no:nor:norway;\
np:npl:nepal;nr:nru:nauru;nu:niu:niue;nz:nzl:new zealand;om:omn:oman;pa:pan:panama;\
pe:per:peru;pf:pyf:french polynesia;pg:png:papua new guinea;ph:phl:philippines;\
pk:pak:pakistan;pl:pol:poland;pm:spm:saint pierre and miquelon;pn:pcn:pitcairn;\
pr:pri:puerto rico;ps:pse:palestine state of;pt:prt:portugal;pw:plw:palau;\
py:pry:paraguay;qa:qat:qatar;re:reu:reunion;ro:rou:romania;rs:srb:serbia;\
ru:rus:russian federation;rw:rwa:rwanda;sa:sau:saudi arabia;sb:slb:solomon islands;\
sc:syc:seychelles;sd:sdn:sudan;se:swe:sweden;sg:sgp:singapore;\
sh:shn:saint helena ascension and tristan da cunha;si:svn:slovenia;\
sj:sjm:svalbard and jan mayen;sk:svk:slovakia;sl:sle:sierra leone;sm:smr:san marino;\
sn:sen:senegal;so:som:somalia;sr:sur:suriname;ss:ssd:south sudan;\
st:stp:sao tome and principe;sv:slv:el salvador;sx:sxm:sint maarten dutch part;\
sy:syr:syrian arab republic/syria;sz:swz:eswatini;tc:tca:turks and caicos islands;\
td:tcd:chad;tf:atf:french southern territories;tg:tgo:togo;th:tha:thailand;\
tj:tjk:tajikistan;tk:tkl:tokelau;tl:tls:timor leste;tm:tkm:turkmenistan;tn:tun:tunisia;\
to:ton:tonga;tr:tur:turkiye;tt:tto:trinidad and tobago;tv:tuv:tuvalu;\
tw:twn:taiwan province of china/taiwan;tz:tza:tanzania united republic of/tanzania;\
ua:ukr:ukraine;ug:uga:uganda;um:umi:united states minor outlying islands;\
us:usa:united states;uy:ury:uruguay;uz:uzb:uzbekistan;\
va:vat:holy see vatican city state;vc:vct:saint vincent and the grenadines;\
ve:ven:venezuela bolivarian republic of/venezuela;vg:vgb:virgin islands british;\
vi:vir:virgin islands us;vn:vnm:viet nam/vietnam;vu:vut:vanuatu;\
wf:wlf:wallis and futuna;ws:wsm:samoa;ye:yem:yemen;yt:myt:mayotte;za:zaf:south africa;\
zm:zmb:zambia;zw:zwe:zimbabwe";

/// Extra spellings as `lookup key:alpha2`. `uk` is the one two-letter
/// alias: it is not ISO (the code is `gb`) but is common in forms.
pub(super) const COUNTRY_ALIASES: &str = "\
uk:gb;great britain:gb;britain:gb;england:gb;scotland:gb;wales:gb;northern ireland:gb;\
united states of america:us;the united states:us;america:us;czech republic:cz;russia:ru;\
holland:nl;the netherlands:nl;korea:kr;republic of korea:kr;turkey:tr;ivory coast:ci;\
burma:mm;swaziland:sz;macedonia:mk;cape verde:cv;east timor:tl;vatican:va;vatican city:va;\
holy see:va;palestine:ps;macau:mo;brunei:bn;micronesia:fm;the bahamas:bs;the gambia:gm;uae:ae;\
british virgin islands:vg;us virgin islands:vi;democratic republic of the congo:cd;\
dr congo:cd;drc:cd;congo kinshasa:cd;republic of the congo:cg;congo brazzaville:cg;\
saint martin:mf;sint maarten:sx;falkland islands:fk;saint helena:sh;bosnia:ba;\
the philippines:ph;peoples republic of china:cn;republic of ireland:ie;eire:ie;\
deutschland:de;espana:es;brasil:br;italia:it;schweiz:ch;suisse:ch;osterreich:at;\
nederland:nl;polska:pl;sverige:se;norge:no;danmark:dk;suomi:fi";

/// US states, DC and inhabited territories as `lettersonlyname:code`.
pub(super) const US_STATES: &str = "\
alabama:al;alaska:ak;americansamoa:as;arizona:az;arkansas:ar;california:ca;colorado:co;\
connecticut:ct;delaware:de;districtofcolumbia:dc;florida:fl;georgia:ga;guam:gu;\
hawaii:hi;idaho:id;illinois:il;indiana:in;iowa:ia;kansas:ks;kentucky:ky;louisiana:la;\
maine:me;maryland:md;massachusetts:ma;michigan:mi;minnesota:mn;mississippi:ms;\
missouri:mo;montana:mt;nebraska:ne;nevada:nv;newhampshire:nh;newjersey:nj;newmexico:nm;\
newyork:ny;northcarolina:nc;northdakota:nd;northernmarianaislands:mp;ohio:oh;\
oklahoma:ok;oregon:or;pennsylvania:pa;puertorico:pr;rhodeisland:ri;southcarolina:sc;\
southdakota:sd;tennessee:tn;texas:tx;utah:ut;vermont:vt;virginia:va;virginislandsus:vi;\
washington:wa;westvirginia:wv;wisconsin:wi;wyoming:wy;washingtondc:dc;\
usvirginislands:vi";

static COUNTRY_INDEX: LazyLock<HashMap<&'static str, &'static str>> =
    LazyLock::new(build_country_index);

/// The alpha-2 code for a lookup key (an alpha-2 or alpha-3 code, or a name).
pub(super) fn country_code(lookup_key: &str) -> Option<&'static str> {
    COUNTRY_INDEX.get(lookup_key).copied()
}

fn build_country_index() -> HashMap<&'static str, &'static str> {
    let mut index = HashMap::new();
    for (alpha2, alpha3, names) in country_entries() {
        index.insert(alpha2, alpha2);
        index.insert(alpha3, alpha2);
        for name in names.split('/') {
            index.insert(name, alpha2);
        }
    }
    index.extend(pairs(COUNTRY_ALIASES));
    index
}

/// `(alpha2, alpha3, names)` for every ISO 3166-1 entry.
pub(super) fn country_entries() -> impl Iterator<Item = (&'static str, &'static str, &'static str)>
{
    COUNTRIES.split(';').filter_map(|entry| {
        let mut fields = entry.splitn(3, ':');
        Some((fields.next()?, fields.next()?, fields.next()?))
    })
}

/// `(key, value)` pairs of a `key:value;key:value` table.
pub(super) fn pairs(table: &'static str) -> impl Iterator<Item = (&'static str, &'static str)> {
    table.split(';').filter_map(|entry| entry.split_once(':'))
}

/// The two-letter code of a US state given as a letters-only lowercase name.
pub(super) fn us_state_code(letters: &str) -> Option<&'static str> {
    pairs(US_STATES)
        .find(|(name, _)| *name == letters)
        .map(|(_, code)| code)
}

/// Canonical form used to look a country up: lowercase, common Latin
/// accents folded, `.` and apostrophes dropped, `&` read as `and`, other
/// punctuation as a space, single spaces, and the word `st` as `saint`.
pub(super) fn country_lookup_key(value: &str) -> String {
    let mut spaced = String::with_capacity(value.len());
    for c in value.chars().flat_map(char::to_lowercase).map(fold_accent) {
        match c {
            '.' | '\'' | '\u{2019}' => {}
            '&' => spaced.push_str(" and "),
            c if c.is_alphanumeric() => spaced.push(c),
            _ => spaced.push(' '),
        }
    }
    let words: Vec<&str> = spaced
        .split_whitespace()
        .map(|word| if word == "st" { "saint" } else { word })
        .collect();
    words.join(" ")
}

const ACCENTED: &str = "àáâãäåāçèéêëìíîïñòóôõöøùúûüýÿ";
const UNACCENTED: &str = "aaaaaaaceeeeiiiinoooooouuuuyy";

fn fold_accent(c: char) -> char {
    ACCENTED
        .chars()
        .position(|accented| accented == c)
        .and_then(|i| UNACCENTED.chars().nth(i))
        .unwrap_or(c)
}
