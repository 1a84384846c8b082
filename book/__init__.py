"""The book's own folder: prose pages (`*.md`), static assets and the build tooling (`book.tools`)."""
