package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/smexec/smexec/internal/launch"
)

// checkInterpreter fails, as exec would with only "no such file or
// directory", when path is a script whose #! interpreter does not exist,
// and says which interpreter: before any secret is fetched.
func checkInterpreter(name, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return nil // exec says what is wrong
	}
	defer f.Close()
	head := make([]byte, 256)
	n, _ := f.Read(head)
	head = head[:n]
	if !bytes.HasPrefix(head, []byte("#!")) {
		return nil
	}
	line, _, _ := bytes.Cut(head[2:], []byte("\n"))
	fields := bytes.Fields(line)
	if len(fields) == 0 {
		return nil
	}
	interp := string(fields[0])
	if _, err := os.Stat(interp); errors.Is(err, fs.ErrNotExist) {
		return &launch.Error{Code: launch.CodeNotFound, Err: fmt.Errorf("cannot run %s: its interpreter %s (on its #! line) was not found", name, interp)}
	}
	return nil
}
