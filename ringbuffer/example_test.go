package ringbuffer_test

import (
	"fmt"

	"github.com/debugz/debugz/ringbuffer"
)

func ExampleRing() {
	r := ringbuffer.New[string](3)
	for _, s := range []string{"a", "b", "c", "d", "e"} {
		r.Push(s)
	}
	fmt.Println(r.Snapshot(), r.Len(), r.Cap(), r.Pushed(), r.Overwritten())
	// Output: [e d c] 3 3 5 2
}
