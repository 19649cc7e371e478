/*
 * country.c - English country names of the IP range file -> ISO 3166-1
 *             alpha-2 codes
 *
 * IpAddress_to_Country.csv names countries in English ("Korea Republic
 * of", "Viet Nam"); the storefront protocol wants alpha-2 codes. The
 * table below covers every one of the 229 names that file uses, checked
 * by hand against the iso3166.tab of the IANA time zone database. One
 * name is not a country: "European Union" maps to EU, which ISO 3166
 * reserves exceptionally for it (as geolocation databases use it), so
 * its ranges stay one group. A name not in the table gives no country
 * (the event goes without ip_country), and vigil-replay counts them.
 *
 * Invariants (country_check(), run at start-up):
 *  - names are sorted bytewise and unique (lookup is a binary search);
 *  - every code is an assigned ISO 3166-1 alpha-2 code (the list below,
 *    249 codes) or EU; no two names share a code.
 *
 * See also: replay.h, tools/vigil-replay.1 "COUNTRIES"
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>
#include <string.h>

#include "tools/vigil-replay/replay.h"

struct country {
    const char *name;
    const char *code;
};

static const struct country countries[] = {
    { "Afghanistan", "AF" },
    { "Albania", "AL" },
    { "Algeria", "DZ" },
    { "Andorra", "AD" },
    { "Angola", "AO" },
    { "Anguilla", "AI" },
    { "Antigua and Barbuda", "AG" },
    { "Argentina", "AR" },
    { "Armenia", "AM" },
    { "Aruba", "AW" },
    { "Australia", "AU" },
    { "Austria", "AT" },
    { "Azerbaijan", "AZ" },
    { "Bahamas", "BS" },
    { "Bahrain", "BH" },
    { "Bangladesh", "BD" },
    { "Barbados", "BB" },
    { "Belarus", "BY" },
    { "Belgium", "BE" },
    { "Belize", "BZ" },
    { "Benin", "BJ" },
    { "Bermuda", "BM" },
    { "Bhutan", "BT" },
    { "Bolivia", "BO" },
    { "Bonaire; Sint Eustatius; Saba", "BQ" },
    { "Bosnia and Herzegowina", "BA" },
    { "Botswana", "BW" },
    { "Brazil", "BR" },
    { "Brunei Darussalam", "BN" },
    { "Bulgaria", "BG" },
    { "Burkina Faso", "BF" },
    { "Burundi", "BI" },
    { "Cambodia", "KH" },
    { "Cameroon", "CM" },
    { "Canada", "CA" },
    { "Cape Verde", "CV" },
    { "Cayman Islands", "KY" },
    { "Central African Republic", "CF" },
    { "Chad", "TD" },
    { "Chile", "CL" },
    { "China", "CN" },
    { "Colombia", "CO" },
    { "Comoros", "KM" },
    { "Congo", "CG" },
    { "Congo The Democratic Republic of The", "CD" },
    { "Costa Rica", "CR" },
    { "Cote D'ivoire", "CI" },
    { "Croatia (LOCAL Name: Hrvatska)", "HR" },
    { "Cuba", "CU" },
    { "Curacao", "CW" },
    { "Cyprus", "CY" },
    { "Czech Republic", "CZ" },
    { "Denmark", "DK" },
    { "Djibouti", "DJ" },
    { "Dominica", "DM" },
    { "Dominican Republic", "DO" },
    { "Ecuador", "EC" },
    { "Egypt", "EG" },
    { "El Salvador", "SV" },
    { "Equatorial Guinea", "GQ" },
    { "Eritrea", "ER" },
    { "Estonia", "EE" },
    { "Ethiopia", "ET" },
    { "European Union", "EU" },
    { "Faroe Islands", "FO" },
    { "Fiji", "FJ" },
    { "Finland", "FI" },
    { "France", "FR" },
    { "French Guiana", "GF" },
    { "French Polynesia", "PF" },
    { "Gabon", "GA" },
    { "Gambia", "GM" },
    { "Georgia", "GE" },
    { "Germany", "DE" },
    { "Ghana", "GH" },
    { "Gibraltar", "GI" },
    { "Greece", "GR" },
    { "Greenland", "GL" },
    { "Grenada", "GD" },
    { "Guadeloupe", "GP" },
    { "Guam", "GU" },
    { "Guatemala", "GT" },
    { "Guernsey", "GG" },
    { "Guinea", "GN" },
    { "Guinea-bissau", "GW" },
    { "Guyana", "GY" },
    { "Haiti", "HT" },
    { "Holy See (VATICAN City State)", "VA" },
    { "Honduras", "HN" },
    { "Hong Kong", "HK" },
    { "Hungary", "HU" },
    { "Iceland", "IS" },
    { "India", "IN" },
    { "Indonesia", "ID" },
    { "Iran (ISLAMIC Republic Of)", "IR" },
    { "Iraq", "IQ" },
    { "Ireland", "IE" },
    { "Isle of Man", "IM" },
    { "Israel", "IL" },
    { "Italy", "IT" },
    { "Jamaica", "JM" },
    { "Japan", "JP" },
    { "Jersey", "JE" },
    { "Jordan", "JO" },
    { "Kazakhstan", "KZ" },
    { "Kenya", "KE" },
    { "Kiribati", "KI" },
    { "Korea Democratic People's Republic of", "KP" },
    { "Korea Republic of", "KR" },
    { "Kuwait", "KW" },
    { "Kyrgyzstan", "KG" },
    { "Lao People's Democratic Republic", "LA" },
    { "Latvia", "LV" },
    { "Lebanon", "LB" },
    { "Lesotho", "LS" },
    { "Liberia", "LR" },
    { "Libyan Arab Jamahiriya", "LY" },
    { "Liechtenstein", "LI" },
    { "Lithuania", "LT" },
    { "Luxembourg", "LU" },
    { "Macau", "MO" },
    { "Macedonia", "MK" },
    { "Madagascar", "MG" },
    { "Malawi", "MW" },
    { "Malaysia", "MY" },
    { "Maldives", "MV" },
    { "Mali", "ML" },
    { "Malta", "MT" },
    { "Marshall Islands", "MH" },
    { "Martinique", "MQ" },
    { "Mauritania", "MR" },
    { "Mauritius", "MU" },
    { "Mayotte", "YT" },
    { "Mexico", "MX" },
    { "Micronesia Federated States of", "FM" },
    { "Moldova Republic of", "MD" },
    { "Monaco", "MC" },
    { "Mongolia", "MN" },
    { "Montenegro", "ME" },
    { "Montserrat", "MS" },
    { "Morocco", "MA" },
    { "Mozambique", "MZ" },
    { "Myanmar", "MM" },
    { "Namibia", "NA" },
    { "Nauru", "NR" },
    { "Nepal", "NP" },
    { "Netherlands", "NL" },
    { "New Caledonia", "NC" },
    { "New Zealand", "NZ" },
    { "Nicaragua", "NI" },
    { "Niger", "NE" },
    { "Nigeria", "NG" },
    { "Niue", "NU" },
    { "Northern Mariana Islands", "MP" },
    { "Norway", "NO" },
    { "Oman", "OM" },
    { "Pakistan", "PK" },
    { "Palau", "PW" },
    { "Palestinian Territory Occupied", "PS" },
    { "Panama", "PA" },
    { "Papua New Guinea", "PG" },
    { "Paraguay", "PY" },
    { "Peru", "PE" },
    { "Philippines", "PH" },
    { "Poland", "PL" },
    { "Portugal", "PT" },
    { "Puerto Rico", "PR" },
    { "Qatar", "QA" },
    { "Reunion", "RE" },
    { "Romania", "RO" },
    { "Russian Federation", "RU" },
    { "Rwanda", "RW" },
    { "Saint Kitts and Nevis", "KN" },
    { "Saint Martin", "MF" },
    { "Saint Vincent and The Grenadines", "VC" },
    { "Samoa", "WS" },
    { "San Marino", "SM" },
    { "Sao Tome and Principe", "ST" },
    { "Saudi Arabia", "SA" },
    { "Senegal", "SN" },
    { "Serbia", "RS" },
    { "Seychelles", "SC" },
    { "Sierra Leone", "SL" },
    { "Singapore", "SG" },
    { "Sint Maarten", "SX" },
    { "Slovakia (SLOVAK Republic)", "SK" },
    { "Slovenia", "SI" },
    { "Solomon Islands", "SB" },
    { "Somalia", "SO" },
    { "South Africa", "ZA" },
    { "South Sudan", "SS" },
    { "Spain", "ES" },
    { "Sri Lanka", "LK" },
    { "St. Pierre and Miquelon", "PM" },
    { "Sudan", "SD" },
    { "Suriname", "SR" },
    { "Swaziland", "SZ" },
    { "Sweden", "SE" },
    { "Switzerland", "CH" },
    { "Syrian Arab Republic", "SY" },
    { "Taiwan; Republic of China (ROC)", "TW" },
    { "Tajikistan", "TJ" },
    { "Tanzania United Republic of", "TZ" },
    { "Thailand", "TH" },
    { "Timor-leste", "TL" },
    { "Togo", "TG" },
    { "Tokelau", "TK" },
    { "Tonga", "TO" },
    { "Trinidad and Tobago", "TT" },
    { "Tunisia", "TN" },
    { "Turkey", "TR" },
    { "Turkmenistan", "TM" },
    { "Turks and Caicos Islands", "TC" },
    { "Uganda", "UG" },
    { "Ukraine", "UA" },
    { "United Arab Emirates", "AE" },
    { "United Kingdom", "GB" },
    { "United States", "US" },
    { "Uruguay", "UY" },
    { "Uzbekistan", "UZ" },
    { "Vanuatu", "VU" },
    { "Venezuela", "VE" },
    { "Viet Nam", "VN" },
    { "Virgin Islands (BRITISH)", "VG" },
    { "Virgin Islands (U.S.)", "VI" },
    { "Wallis and Futuna Islands", "WF" },
    { "Yemen", "YE" },
    { "Zambia", "ZM" },
    { "Zimbabwe", "ZW" },
};

/* Every assigned ISO 3166-1 alpha-2 code (2024), one space after each. */
static const char assigned[] =
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ "
    "BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS "
    "BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN "
    "CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE "
    "EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF "
    "GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM "
    "HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM "
    "JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC "
    "LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK "
    "ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA "
    "NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG "
    "PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW "
    "SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS "
    "ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO "
    "TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI "
    "VN VU WF WS YE YT ZA ZM ZW ";

_Static_assert(sizeof(assigned) == 249 * 3 + 1,
    "the list of assigned codes is not 249 codes");

/* Exceptionally reserved codes allowed in the table. */
static const char reserved[] = "EU ";

static int
by_name(const void *key, const void *elem)
{
    return strcmp(key, ((const struct country *)elem)->name);
}

const char *
country_code(const char *name)
{
    const struct country *c = bsearch(
        name, countries, ARRAY_LEN(countries), sizeof(countries[0]), by_name);

    return c != NULL ? c->code : NULL;
}

size_t
country_count(void)
{
    return ARRAY_LEN(countries);
}

static bool
listed(const char *list, const char *code)
{
    for (const char *p = list; *p != '\0'; p += 3) {
        if (p[0] == code[0] && p[1] == code[1])
            return true;
    }
    return false;
}

const char *
country_check(void)
{
    for (size_t i = 0; i < ARRAY_LEN(countries); i++) {
        const char *code = countries[i].code;

        if (i > 0 && strcmp(countries[i - 1].name, countries[i].name) >= 0)
            return "names not sorted or not unique";
        if (strlen(code) != 2 ||
            (!listed(assigned, code) && !listed(reserved, code)))
            return "a code that is not ISO 3166-1 alpha-2";
        for (size_t j = 0; j < i; j++) {
            if (strcmp(countries[j].code, code) == 0)
                return "two names share a code";
        }
    }
    return NULL;
}
