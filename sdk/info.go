package sdk

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Kind says what a plugin does.
type Kind string

// The plugin kinds.
const (
	KindSolver   Kind = "solver"
	KindGuidance Kind = "guidance"
)

// ParamType is the type of a plugin parameter.
type ParamType string

// The parameter types.
const (
	Float  ParamType = "float"
	Int    ParamType = "int"
	Bool   ParamType = "bool"
	Choice ParamType = "choice"
)

// Param describes one typed parameter of a plugin. Build one with
// [FloatParam], [IntParam], [BoolParam] or [ChoiceParam].
type Param struct {
	Name    string
	Type    ParamType
	Default string   // canonical text of the default value
	Min     float64  // inclusive lower bound for Float and Int
	Max     float64  // inclusive upper bound for Float and Int
	Choices []string // the allowed values of a Choice
	Doc     string   // one line, for `restore plugins describe`
}

// FloatParam declares a float parameter with a default and an inclusive range.
func FloatParam(name string, def, min, max float64, doc string) Param {
	return Param{Name: name, Type: Float, Default: strconv.FormatFloat(def, 'g', -1, 64), Min: min, Max: max, Doc: doc}
}

// IntParam declares an integer parameter with a default and an inclusive range.
func IntParam(name string, def, min, max int, doc string) Param {
	return Param{Name: name, Type: Int, Default: strconv.Itoa(def), Min: float64(min), Max: float64(max), Doc: doc}
}

// BoolParam declares a boolean parameter.
func BoolParam(name string, def bool, doc string) Param {
	return Param{Name: name, Type: Bool, Default: strconv.FormatBool(def), Doc: doc}
}

// ChoiceParam declares a parameter that takes one of a fixed set of words.
func ChoiceParam(name, def string, choices []string, doc string) Param {
	return Param{Name: name, Type: Choice, Default: def, Choices: choices, Doc: doc}
}

// Info describes a plugin: who it is and what it accepts.
type Info struct {
	Name    string // lower-case, unique among plugins of its kind, e.g. "euler-maruyama"
	Version string // the plugin's own version, e.g. "1.0.0"
	Kind    Kind
	Summary string // one line
	Params  []Param
	// UsesXt, for guidance, asks for GuideStep.Xt, the noisy sample behind
	// each estimate. Without it Xt is nil and, out of process, one
	// image-sized message per evaluation is saved.
	UsesXt bool
}

// ErrParam reports a parameter value a plugin does not accept.
var ErrParam = errors.New("invalid parameter")

// Validate checks the description itself: a name, a known kind, and parameter
// defaults inside their own ranges.
func (in Info) Validate() error {
	if in.Name == "" || strings.ContainsAny(in.Name, " \t\n=/") {
		return fmt.Errorf("plugin info: bad name %q", in.Name)
	}
	if in.Kind != KindSolver && in.Kind != KindGuidance {
		return fmt.Errorf("plugin %s: unknown kind %q", in.Name, in.Kind)
	}
	seen := map[string]bool{}
	for _, p := range in.Params {
		if seen[p.Name] {
			return fmt.Errorf("plugin %s: parameter %q declared twice", in.Name, p.Name)
		}
		seen[p.Name] = true
		if _, err := p.parse(p.Default); err != nil {
			return fmt.Errorf("plugin %s: default of %w", in.Name, err)
		}
	}
	return nil
}

// parse checks one textual value against the parameter and returns it in canonical form.
func (p Param) parse(v string) (string, error) {
	switch p.Type {
	case Float:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return "", fmt.Errorf("%w: %s=%q is not a number", ErrParam, p.Name, v)
		}
		if f < p.Min || f > p.Max {
			return "", fmt.Errorf("%w: %s=%g is outside [%g, %g]", ErrParam, p.Name, f, p.Min, p.Max)
		}
		return strconv.FormatFloat(f, 'g', -1, 64), nil
	case Int:
		i, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return "", fmt.Errorf("%w: %s=%q is not an integer", ErrParam, p.Name, v)
		}
		if float64(i) < p.Min || float64(i) > p.Max {
			return "", fmt.Errorf("%w: %s=%d is outside [%g, %g]", ErrParam, p.Name, i, p.Min, p.Max)
		}
		return strconv.Itoa(i), nil
	case Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return "", fmt.Errorf("%w: %s=%q is not true or false", ErrParam, p.Name, v)
		}
		return strconv.FormatBool(b), nil
	case Choice:
		for _, c := range p.Choices {
			if v == c {
				return v, nil
			}
		}
		return "", fmt.Errorf("%w: %s=%q is not one of %s", ErrParam, p.Name, v, strings.Join(p.Choices, ", "))
	}
	return "", fmt.Errorf("%w: %s has unknown type %q", ErrParam, p.Name, p.Type)
}

// Resolve validates user-given values (name → text) against the declared
// parameters and fills in defaults. Unknown names are errors.
func (in Info) Resolve(values map[string]string) (Params, error) {
	out := Params{values: map[string]string{}}
	byName := map[string]Param{}
	for _, p := range in.Params {
		byName[p.Name] = p
		out.values[p.Name] = p.Default
		out.types = append(out.types, p)
	}
	names := make([]string, 0, len(values))
	for k := range values {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		p, ok := byName[k]
		if !ok {
			known := make([]string, 0, len(in.Params))
			for _, q := range in.Params {
				known = append(known, q.Name)
			}
			if len(known) == 0 {
				return Params{}, fmt.Errorf("%w: %s takes no parameters, got %q", ErrParam, in.Name, k)
			}
			return Params{}, fmt.Errorf("%w: %s has no parameter %q (it has %s)", ErrParam, in.Name, k, strings.Join(known, ", "))
		}
		v, err := p.parse(values[k])
		if err != nil {
			return Params{}, fmt.Errorf("%s: %w", in.Name, err)
		}
		out.values[k] = v
	}
	return out, nil
}

// Params holds resolved parameter values: every declared parameter is present
// and valid. Getters return the zero value for an undeclared name.
type Params struct {
	values map[string]string
	types  []Param
}

// Map returns the values as canonical text, name → value (a copy).
func (p Params) Map() map[string]string {
	m := make(map[string]string, len(p.values))
	for k, v := range p.values {
		m[k] = v
	}
	return m
}

// Float returns a Float parameter.
func (p Params) Float(name string) float64 {
	f, _ := strconv.ParseFloat(p.values[name], 64)
	return f
}

// Int returns an Int parameter.
func (p Params) Int(name string) int {
	i, _ := strconv.Atoi(p.values[name])
	return i
}

// Bool returns a Bool parameter.
func (p Params) Bool(name string) bool {
	b, _ := strconv.ParseBool(p.values[name])
	return b
}

// String returns a parameter's canonical text (the value of a Choice).
func (p Params) String(name string) string { return p.values[name] }
