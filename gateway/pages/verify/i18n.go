package verify

import "sandesh/gateway/pages/webpage"

// words are one language's page strings, by key.
type words = webpage.Words

// stringsDir holds one "<lang>.txt" a language.
const stringsDir = "assets/i18n"
