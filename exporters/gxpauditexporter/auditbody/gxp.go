package auditbody

import (
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// gxpKeys are the attribute keys of §5.5, grouped by field in field order; gxpFieldKeys gives each field's range.
var gxpKeys = [...]string{
	"enduser.id", "gxp.user.id", "user.id", // user_id
	"gxp.agent.id", "gen_ai.agent.id", "gen_ai.agent.name", // agent_id
	"gxp.correlation.id", "session.id", // correlation_id
	"gxp.gamp.category",   // gamp_category
	"gxp.risk.level",      // risk_level
	"gxp.workflow.run_id", // run_id
}

// gxpFields in the order §5.5 lists them, with the half-open range of their keys in gxpKeys.
var gxpFields = [...]struct {
	name   string
	lo, hi int
}{
	{"user_id", 0, 3}, {"agent_id", 3, 6}, {"correlation_id", 6, 8},
	{"gamp_category", 8, 9}, {"risk_level", 9, 10}, {"run_id", 10, 11},
}

// gxpPaths are the fields' findings paths.
var gxpPaths = func() (out [len(gxpFields)]string) {
	for i, f := range gxpFields {
		out[i] = "gxp/" + f.name
	}
	return out
}()

// gxpSorted is the JCS order of the fields (indexes into gxpFields).
var gxpSorted = [...]int{1, 2, 3, 4, 5, 0}

type optText struct {
	text string
	ok   bool
}

// gxpTexts holds, per key of gxpKeys, the scalar text of that attribute when it is a string, int or bool.
type gxpTexts [len(gxpKeys)]optText

func gxpKeyIndex(key string) int {
	switch key {
	case "enduser.id":
		return 0
	case "gxp.user.id":
		return 1
	case "user.id":
		return 2
	case "gxp.agent.id":
		return 3
	case "gen_ai.agent.id":
		return 4
	case "gen_ai.agent.name":
		return 5
	case "gxp.correlation.id":
		return 6
	case "session.id":
		return 7
	case "gxp.gamp.category":
		return 8
	case "gxp.risk.level":
		return 9
	case "gxp.workflow.run_id":
		return 10
	}
	return -1
}

// collectGxp reads the §5.5 keys from deduplicated attribute items.
func collectGxp(items sortedMembers) gxpTexts {
	var out gxpTexts
	for n := range items.Len() {
		it := items.at(n)
		if i := gxpKeyIndex(it.key); i >= 0 {
			out[i] = scalarText(it.value)
		}
	}
	return out
}

func scalarText(v pcommon.Value) optText {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return optText{v.Str(), true}
	case pcommon.ValueTypeInt:
		return optText{strconv.FormatInt(v.Int(), 10), true}
	case pcommon.ValueTypeBool:
		return optText{strconv.FormatBool(v.Bool()), true}
	}
	return optText{}
}

// resolveGxp applies §5.5: per field, the first listed key with a scalar value in the record's attributes, else
// in the resource's.
func resolveGxp(record gxpTexts, resource *gxpTexts) [len(gxpFields)]optText {
	var out [len(gxpFields)]optText
	for f, field := range gxpFields {
	sources:
		for _, src := range [...]*gxpTexts{&record, resource} {
			for k := field.lo; k < field.hi; k++ {
				if src[k].ok {
					out[f] = src[k]
					break sources
				}
			}
		}
	}
	return out
}

// gxpObject appends the gxp member's object (fields found only, JCS order); invalid UTF-8 is flagged in field order.
func (f *findings) gxpObject(dst []byte, gxp *[len(gxpFields)]optText) []byte {
	for i := range gxp {
		if gxp[i].ok {
			gxp[i].text = f.clean(gxp[i].text, gxpPaths[i])
		}
	}
	dst = append(dst, '{')
	first := true
	for _, i := range gxpSorted {
		if !gxp[i].ok {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, '"')
		dst = append(dst, gxpFields[i].name...)
		dst = append(dst, `":`...)
		dst = appendJCS(dst, gxp[i].text)
	}
	return append(dst, '}')
}
