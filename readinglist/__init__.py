"""The reading list: database, ranking, CLI, Datasette integration and exports."""
