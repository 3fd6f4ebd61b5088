package templates

import (
	"errors"
	"fmt"
	"maps"
	"slices"
)

// WithDLTIDs returns a copy of s whose DLT template ids are those the
// programme registered on the DLT portal: ids[name][lang], each 19 digits,
// in place of the embedded ones (which the programme's own registration
// replaces; the registered text stays the file's dlt line). Messages and
// languages not named keep their ids. Every id must name a message and a
// language of s, and no two messages may share one; errors name the key.
func (s *Set) WithDLTIDs(ids map[string]map[string]string) (*Set, error) {
	c := *s
	c.messages = make(map[string]map[string]*message, len(s.messages))
	for name, byLang := range s.messages {
		c.messages[name] = maps.Clone(byLang)
	}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(ids)) {
		byLang, ok := c.messages[name]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: no such message (one of %v)", name, s.names))
			continue
		}
		for _, lang := range slices.Sorted(maps.Keys(ids[name])) {
			id := ids[name][lang]
			m, ok := byLang[lang]
			switch {
			case !ok:
				errs = append(errs, fmt.Errorf("%s.%s: no such language (one of %v)", name, lang, s.langs))
			case !dltIDRe.MatchString(id):
				errs = append(errs, fmt.Errorf("%s.%s: %q is not a DLT template id (19 digits)", name, lang, id))
			default:
				copied := *m
				copied.dltID = id
				byLang[lang] = &copied
			}
		}
	}
	seen := map[string]string{}
	for _, name := range c.names {
		for _, lang := range c.langs {
			m, ok := c.messages[name][lang]
			if !ok {
				continue
			}
			if other, dup := seen[m.dltID]; dup {
				errs = append(errs, fmt.Errorf("%s.%s: DLT template id %s is also %s's", name, lang, m.dltID, other))
			}
			seen[m.dltID] = name + "." + lang
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &c, nil
}
