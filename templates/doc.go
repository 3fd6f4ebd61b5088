// Package templates owns the texts Sandesh sends: one embedded file per
// message and language, the DLT template id and registered DLT text of each,
// rendering with variables, and the GSM-7 / UCS-2 encoding and segment count
// of the result. It sends nothing.
//
// # Message files
//
// Each message lives in messages/<lang>/<name>.txt (lang is one of the
// twelve codes of package langs; name is lower_snake_case, e.g.
// appointment_slip). A file is a header,
// a line holding exactly "---", and the body:
//
//	# comment lines and blank lines are allowed in the header
//	id: 1107162101000482101
//	dlt: Vaccination booked at {#var#} on {#var#}, {#var#}. Security code {#var#}: tell it to the vaccinator.
//	---
//	Vaccination booked at {{.center}} on {{.date}}, {{.slot}}. Security code {{.code}}: tell it to the vaccinator.
//
// The header has exactly two keys: id, the 19-digit DLT template id
// registered with the operator (distinct for every message and language),
// and dlt, the text registered on the DLT portal with each variable written
// {#var#}. The body is one line of text/template syntax whose only actions
// are named insertions {{.name}}; conditionals, pipelines and functions are
// rejected because the registered DLT text cannot express them. The body
// with each insertion replaced by {#var#} must equal the dlt text exactly:
// the same number of variables at the same places, and the same literal
// text around them. Load checks all of this, that every message exists in
// every language with the same set of variables, and that no DLT id is
// used twice; its errors name the offending file.
//
// # Words
//
// words/<lang>.txt holds short localised phrases as "key: text" lines
// (status phrases such as fully_vaccinated, used as the status variable of
// kw_status). See Set.Word.
//
// # Variables
//
// Every variable value is cleaned before insertion: control characters and
// runs of white space become one space, the value is trimmed, and it is cut
// to at most 30 characters (runes), because DLT scrubbing rejects a message
// whose {#var#} holds more than 30 characters. The cut never splits a
// Devanagari syllable, so a long value may keep a few runes fewer. A value
// that is empty after cleaning counts as missing. The variables code, otp and
// token (a status card link's) are secrets: they
// appear in Rendered.Body but are replaced by "****" in Rendered.Masked,
// the text that may be stored in clear, logged or shown to support
// staff; Body itself goes only to the provider (and sealed into storage).
package templates
