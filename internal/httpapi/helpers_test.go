package httpapi

import "reflect"

// newOf returns a new zero value of the pointer type of v (a route's Request prototype).
func newOf(v any) validator {
	return reflect.New(reflect.TypeOf(v).Elem()).Interface().(validator)
}
