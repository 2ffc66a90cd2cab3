"""The Docker Engine room: everything that knows Docker's API and words.

`create` spells a task as docker SDK create arguments, `inspect` reads engine documents
into neutral `ContainerInfo`, `driver` makes the calls. Only this room imports `docker`.
"""
