package conf

// LoadTracker reads tracker.conf at path.
func LoadTracker(path string) (*Tracker, error) {
	f, err := LoadFile(path)
	if err != nil {
		return nil, err
	}
	return trackerFromFile(f)
}

// ParseTracker parses tracker.conf content; relative paths (includes,
// storage_ids_filename) are resolved against dir.
func ParseTracker(data []byte, dir string) (*Tracker, error) {
	f, err := ParseFile(data, dir)
	if err != nil {
		return nil, err
	}
	return trackerFromFile(f)
}

// LoadStorage reads storage.conf at path.
func LoadStorage(path string) (*Storage, error) {
	f, err := LoadFile(path)
	if err != nil {
		return nil, err
	}
	return storageFromFile(f)
}

// ParseStorage parses storage.conf content; includes resolve against dir.
func ParseStorage(data []byte, dir string) (*Storage, error) {
	f, err := ParseFile(data, dir)
	if err != nil {
		return nil, err
	}
	return storageFromFile(f)
}

// LoadClient reads client.conf at path.
func LoadClient(path string) (*Client, error) {
	f, err := LoadFile(path)
	if err != nil {
		return nil, err
	}
	return clientFromFile(f)
}

// ParseClient parses client.conf content; relative paths resolve against dir.
func ParseClient(data []byte, dir string) (*Client, error) {
	f, err := ParseFile(data, dir)
	if err != nil {
		return nil, err
	}
	return clientFromFile(f)
}
