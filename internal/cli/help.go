package cli

// Worked examples, shown by --help under the description (kong's
// HelpProvider). Indented lines are printed as they are.

func (CLI) Help() string {
	return `Mapping flags, of exec (the default command), check and export; each repeats:

    -e, --env NAME=REF     set env var NAME of COMMAND to the value of REF
    -f, --file PATH=REF    write the value of REF to PATH (mode 0400) first
    -s, --secret REF       Flyte layout: a file under --secrets-dir
        --mappings FILE    TARGET=REF lines from FILE (- for stdin)
        --allow-empty      run even when no mapping is given

Every flag of a command: smexec help exec (or check, export, …).

Examples:

    # Run a server with a password from a JSON secret and a TLS key file
    smexec -e DB_PASSWORD=prod/db:password -f /run/app/tls.key=prod/tls:key -- ./server

    # Many mappings: a file of TARGET=REF lines (a TARGET with / is a file)
    smexec --mappings app.mappings -- ./server

    # Can every secret be read? A table of targets, versions and sizes, no values
    smexec check --mappings app.mappings

    # One value on stdout; a set for a shell
    smexec get prod/db:password
    eval "$(smexec export --format shell -e DB_PASSWORD=prod/db:password)"

    # By ARN (its region is used), the JSON key password at stage AWSPREVIOUS
    smexec -e OLD=arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf:password:AWSPREVIOUS: -- ./rotate-check

    # Flyte: where flytekit's current_context().secrets.get(GROUP, KEY) finds it
    smexec --secret-group arn:aws:secretsmanager:us-east-1:123456789012:secret: --secret-key db-AbCdEf -- pyflyte-execute ...

    # ECS: a task definition's secrets as a mappings file
    smexec ecs-import task-definition.json > app.mappings

A REF is SECRET-ID[:JSON-KEY[:VERSION-STAGE[:VERSION-ID]]], the form of an ECS valueFrom. Every flag can also be set by an SMEXEC_ variable (--env: SMEXEC_ENV, one mapping a line). Exit codes: the command's own; 125 when smexec fails, 126 when the command cannot be run, 127 when it is not found. smexec prints no colour.`
}

func (ECSImportCmd) Help() string {
	return `Each entry of a container's "secrets" becomes NAME=valueFrom. SSM parameters are printed commented out, with a warning: smexec reads Secrets Manager only. A Parameter Store reference (/aws/reference/secretsmanager/ID) becomes the secret ID.

    aws ecs describe-task-definition --task-definition billing-api > td.json
    smexec ecs-import --container api td.json > api.mappings
    smexec --mappings api.mappings -- /app/billing-api

    aws ecs describe-task-definition --task-definition billing-api | smexec ecs-import -`
}

func (InstallCmd) Help() string {
	return `The copy is written to a temp file beside DIR/smexec and renamed into place, mode 0755. In Kubernetes, an init container from the smexec image shares it with the app container through an emptyDir:

    initContainers:
      - name: smexec
        image: smexec:latest
        args: ["install", "/smexec-bin"]
    containers:
      - name: app
        command: ["/smexec-bin/smexec", "--mappings", "/etc/app/mappings", "--", "/app/server"]`
}

func (CompletionCmd) Help() string {
	return `Load it into the running shell:

    source <(smexec completion bash)
    source <(smexec completion zsh)
    smexec completion fish | source`
}
