package apigw

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// errNoValue marks a value that resolved to AWS::NoValue: the key holding it
// is dropped, as CloudFormation does.
var errNoValue = errors.New("apigw: AWS::NoValue")

// resolver resolves CloudFormation intrinsic functions against local values
// of parameters, pseudo parameters and resources.
type resolver struct {
	params     map[string]string
	resources  map[string]string
	mappings   map[string]any
	conditions map[string]any
	condCache  map[string]bool
}

// resolve returns v with every intrinsic function replaced by its value.
func (r *resolver) resolve(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			for k, arg := range x {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") {
					return r.intrinsic(k, arg)
				}
			}
		}
		out := make(map[string]any, len(x))
		for k, val := range x {
			rv, err := r.resolve(val)
			if errors.Is(err, errNoValue) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = rv
		}
		return out, nil
	case []any:
		out := make([]any, 0, len(x))
		for i, val := range x {
			rv, err := r.resolve(val)
			if errors.Is(err, errNoValue) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out = append(out, rv)
		}
		return out, nil
	default:
		return v, nil
	}
}

// resolveString resolves v and renders it as a string.
func (r *resolver) resolveString(v any) (string, error) {
	rv, err := r.resolve(v)
	if errors.Is(err, errNoValue) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	switch rv.(type) {
	case map[string]any, []any:
		return "", fmt.Errorf("apigw: expected a scalar, got %v", rv)
	}
	return scalarString(rv), nil
}

// intrinsic evaluates one intrinsic function.
func (r *resolver) intrinsic(name string, arg any) (any, error) {
	switch name {
	case "Ref":
		s, err := r.resolveString(arg)
		if err != nil {
			return nil, fmt.Errorf("Ref: %w", err)
		}
		return r.ref(s)
	case "Fn::Sub":
		return r.sub(arg)
	case "Fn::GetAtt":
		return r.getAtt(arg)
	case "Fn::Join":
		args, err := r.list(arg, 2, "Fn::Join")
		if err != nil {
			return nil, err
		}
		sep := scalarString(args[0])
		items, ok := args[1].([]any)
		if !ok {
			return nil, errors.New("apigw: Fn::Join: second argument is not a list")
		}
		parts := make([]string, 0, len(items))
		for _, it := range items {
			parts = append(parts, scalarString(it))
		}
		return strings.Join(parts, sep), nil
	case "Fn::Select":
		args, err := r.list(arg, 2, "Fn::Select")
		if err != nil {
			return nil, err
		}
		i, err := strconv.Atoi(scalarString(args[0]))
		items, ok := args[1].([]any)
		if err != nil || !ok || i < 0 || i >= len(items) {
			return nil, fmt.Errorf("apigw: Fn::Select: bad index %v", args[0])
		}
		return items[i], nil
	case "Fn::Split":
		args, err := r.list(arg, 2, "Fn::Split")
		if err != nil {
			return nil, err
		}
		var out []any
		for _, s := range strings.Split(scalarString(args[1]), scalarString(args[0])) {
			out = append(out, s)
		}
		return out, nil
	case "Fn::If":
		raw, ok := arg.([]any)
		if !ok || len(raw) != 3 {
			return nil, errors.New("apigw: Fn::If needs [condition, then, else]")
		}
		cond, err := r.condition(scalarString(raw[0]))
		if err != nil {
			return nil, err
		}
		if cond {
			return r.resolve(raw[1])
		}
		return r.resolve(raw[2])
	case "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or":
		b, err := r.boolean(map[string]any{name: arg})
		if err != nil {
			return nil, err
		}
		return strconv.FormatBool(b), nil
	case "Fn::FindInMap":
		args, err := r.list(arg, 3, "Fn::FindInMap")
		if err != nil {
			return nil, err
		}
		v, ok := asMap(asMap(r.mappings[scalarString(args[0])])[scalarString(args[1])])[scalarString(args[2])]
		if !ok {
			return nil, fmt.Errorf("apigw: Fn::FindInMap: no %v", args)
		}
		return r.resolve(v)
	case "Fn::Base64":
		s, err := r.resolveString(arg)
		if err != nil {
			return nil, fmt.Errorf("Fn::Base64: %w", err)
		}
		return s, nil
	default:
		return nil, fmt.Errorf("apigw: intrinsic %s is not supported locally", name)
	}
}

// list resolves arg as a list of exactly n items.
func (r *resolver) list(arg any, n int, fn string) ([]any, error) {
	raw, ok := arg.([]any)
	if !ok || len(raw) != n {
		return nil, fmt.Errorf("apigw: %s needs a list of %d items", fn, n)
	}
	out := make([]any, n)
	for i, it := range raw {
		v, err := r.resolve(it)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fn, err)
		}
		out[i] = v
	}
	return out, nil
}

// ref resolves Ref to a parameter, a pseudo parameter or a resource.
func (r *resolver) ref(name string) (any, error) {
	if v, ok := r.params[name]; ok {
		return v, nil
	}
	switch name {
	case "AWS::NoValue":
		return nil, errNoValue
	case "AWS::Region":
		return LocalRegion, nil
	case "AWS::AccountId":
		return LocalAccountID, nil
	case "AWS::StackName":
		return LocalStackName, nil
	case "AWS::StackId":
		return "arn:aws:cloudformation:" + LocalRegion + ":" + LocalAccountID + ":stack/" + LocalStackName + "/local", nil
	case "AWS::Partition":
		return "aws", nil
	case "AWS::URLSuffix":
		return "amazonaws.com", nil
	}
	if v, ok := r.resources[name]; ok {
		return v, nil
	}
	return nil, fmt.Errorf("apigw: Ref %s: no such parameter or resource", name)
}

// getAtt gives local stand-ins for resource attributes: an ARN for Arn,
// the resource's name otherwise.
func (r *resolver) getAtt(arg any) (any, error) {
	var res, attr string
	switch x := arg.(type) {
	case string:
		res, attr, _ = strings.Cut(x, ".")
	case []any:
		if len(x) != 2 {
			return nil, errors.New("apigw: Fn::GetAtt needs [resource, attribute]")
		}
		res = scalarString(x[0])
		a, err := r.resolveString(x[1])
		if err != nil {
			return nil, fmt.Errorf("Fn::GetAtt: %w", err)
		}
		attr = a
	default:
		return nil, errors.New("apigw: Fn::GetAtt: bad argument")
	}
	name, ok := r.resources[res]
	if !ok {
		return nil, fmt.Errorf("apigw: Fn::GetAtt %s.%s: no such resource", res, attr)
	}
	if attr == "Arn" {
		return "arn:aws:local:" + LocalRegion + ":" + LocalAccountID + ":" + name, nil
	}
	return name, nil
}

// sub evaluates Fn::Sub: "${Name}" is a parameter, pseudo parameter,
// resource or variable of the optional map; "${Res.Attr}" is Fn::GetAtt;
// "${!Literal}" is the literal "${Literal}".
func (r *resolver) sub(arg any) (any, error) {
	var tmpl string
	vars := map[string]string{}
	switch x := arg.(type) {
	case string:
		tmpl = x
	case []any:
		if len(x) != 2 {
			return nil, errors.New("apigw: Fn::Sub needs a string or [string, map]")
		}
		tmpl = scalarString(x[0])
		for k, v := range asMap(x[1]) {
			s, err := r.resolveString(v)
			if err != nil {
				return nil, fmt.Errorf("Fn::Sub variable %s: %w", k, err)
			}
			vars[k] = s
		}
	default:
		return nil, errors.New("apigw: Fn::Sub: bad argument")
	}
	var b strings.Builder
	for {
		i := strings.Index(tmpl, "${")
		if i < 0 {
			b.WriteString(tmpl)
			return b.String(), nil
		}
		j := strings.Index(tmpl[i:], "}")
		if j < 0 {
			return nil, fmt.Errorf("apigw: Fn::Sub: unterminated ${ in %q", tmpl)
		}
		b.WriteString(tmpl[:i])
		name := tmpl[i+2 : i+j]
		tmpl = tmpl[i+j+1:]
		switch {
		case strings.HasPrefix(name, "!"):
			b.WriteString("${" + name[1:] + "}")
		case strings.Contains(name, "."):
			v, err := r.getAtt(name)
			if err != nil {
				return nil, err
			}
			b.WriteString(scalarString(v))
		default:
			if v, ok := vars[name]; ok {
				b.WriteString(v)
				continue
			}
			v, err := r.ref(name)
			if err != nil && !errors.Is(err, errNoValue) {
				return nil, fmt.Errorf("Fn::Sub: %w", err)
			}
			b.WriteString(scalarString(v))
		}
	}
}

// condition evaluates the named entry of the template's Conditions.
func (r *resolver) condition(name string) (bool, error) {
	if v, ok := r.condCache[name]; ok {
		return v, nil
	}
	def, ok := r.conditions[name]
	if !ok {
		return false, fmt.Errorf("apigw: no condition %s", name)
	}
	r.condCache[name] = false // breaks cycles
	v, err := r.boolean(def)
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	r.condCache[name] = v
	return v, nil
}

// boolean evaluates a condition expression.
func (r *resolver) boolean(v any) (bool, error) {
	m := asMap(v)
	if c, ok := m["Condition"]; ok && len(m) == 1 {
		return r.condition(scalarString(c))
	}
	if len(m) != 1 {
		s, err := r.resolveString(v)
		if err != nil {
			return false, err
		}
		return s == "true", nil
	}
	for k, arg := range m {
		args, _ := arg.([]any)
		switch k {
		case "Fn::Equals":
			if len(args) != 2 {
				return false, errors.New("apigw: Fn::Equals needs two values")
			}
			a, err := r.resolveString(args[0])
			if err != nil {
				return false, err
			}
			b, err := r.resolveString(args[1])
			if err != nil {
				return false, err
			}
			return a == b, nil
		case "Fn::Not":
			if len(args) != 1 {
				return false, errors.New("apigw: Fn::Not needs one condition")
			}
			b, err := r.boolean(args[0])
			return !b, err
		case "Fn::And", "Fn::Or":
			and := k == "Fn::And"
			for _, a := range args {
				b, err := r.boolean(a)
				if err != nil {
					return false, err
				}
				if b != and {
					return b, nil
				}
			}
			return and, nil
		}
	}
	s, err := r.resolveString(v)
	if err != nil {
		return false, err
	}
	return s == "true", nil
}
