using System.Text.RegularExpressions;
using Kannon.Hosting;
using YamlDotNet.RepresentationModel;

namespace Kannon.Tests.Deploy;

public sealed class HelmChartTests
{
    private static readonly string[] SevenRoles = ["api", "smtp", "sender", "dispatcher", "validator", "stats", "tracker"];

    private readonly HelmChart _chart = HelmChart.Load();

    [Fact]
    public void Chart_yaml_and_values_yaml_parse_as_yaml_and_describe_a_v2_application_chart()
    {
        HelmChart.Scalar(_chart.Chart, "apiVersion").Should().Be("v2");
        HelmChart.Scalar(_chart.Chart, "name").Should().Be("kannon");
        HelmChart.Scalar(_chart.Chart, "type").Should().Be("application");
        HelmChart.Scalar(_chart.Chart, "version").Should().MatchRegex(@"^\d+\.\d+\.\d+");
        HelmChart.Scalar(_chart.Chart, "appVersion").Should().NotBeEmpty();
        _chart.Values.Children.Keys.Select(k => k.ToString()).Should().Contain(["image", "secrets", "config", "roles", "service", "migrate"]);
    }

    [Fact]
    public void Every_Values_path_a_template_reads_is_in_values_yaml()
    {
        var paths = _chart.Templates
            .SelectMany(t => Regex.Matches(t.Value, @"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)").Select(m => (Template: t.Key, Path: m.Groups[1].Value.TrimStart('.'))))
            .Distinct()
            .ToList();

        paths.Should().HaveCountGreaterThan(20, "the templates read their settings from values.yaml");
        paths.Where(p => HelmChart.Resolve(_chart.Values, p.Path.Split('.')) is null)
            .Select(p => $"{p.Template}: .Values.{p.Path}")
            .Should().BeEmpty("every value a template reads has its default in values.yaml");
    }

    [Fact]
    public void Every_role_field_a_template_reads_through_its_range_variable_is_in_the_roles_that_have_it()
    {
        var checkedPaths = 0;
        foreach (var (template, text) in _chart.Templates)
        {
            foreach (Match range in Regex.Matches(text, @"range\s+\$\w+\s*,\s*\$(\w+)\s*:=\s*\$?\.Values\.roles\b"))
            {
                var variable = range.Groups[1].Value;
                var fields = Regex.Matches(text, $@"\${variable}((?:\.[A-Za-z_]\w*)+)").Select(m => m.Groups[1].Value.TrimStart('.'))
                    .Concat(Regex.Matches(text, $@"dig\s+((?:""\w+""\s+)+)\S+\s+\${variable}\b").Select(m => string.Join('.', Regex.Matches(m.Groups[1].Value, @"""(\w+)""").Select(k => k.Groups[1].Value))));
                foreach (var field in fields.Distinct())
                {
                    var path = field.Split('.');
                    // A block only some roles have (hpa) must be complete in each role that has it.
                    var holders = _chart.Roles.Children.Where(r => HelmChart.Resolve(r.Value, path.Take(1)) is not null).ToList();
                    holders.Should().NotBeEmpty($"{template}: ${variable}.{field} names a field some role has");
                    holders.Where(r => HelmChart.Resolve(r.Value, path) is null).Select(r => $"roles.{r.Key}.{field}")
                        .Should().BeEmpty($"{template} reads ${variable}.{field}");
                    checkedPaths++;
                }
            }
        }

        checkedPaths.Should().BeGreaterThan(5, "the Deployment, HPA and PDB templates range over the roles");
        foreach (var field in new[] { "enabled", "replicas", "resources", "extraArgs", "pdb.enabled", "pdb.minAvailable" })
        {
            SevenRoles.Where(r => HelmChart.Resolve(_chart.Roles, [r, .. field.Split('.')]) is null).Should().BeEmpty($"every role has {field}");
        }
    }

    [Theory]
    [InlineData("deployment.yaml", "Deployment", "apps/v1")]
    [InlineData("service-api.yaml", "Service", "v1")]
    [InlineData("service-tracker.yaml", "Service", "v1")]
    [InlineData("service-smtp.yaml", "Service", "v1")]
    [InlineData("migrate-job.yaml", "Job", "batch/v1")]
    [InlineData("configmap.yaml", "ConfigMap", "v1")]
    [InlineData("secret.yaml", "Secret", "v1")]
    [InlineData("hpa.yaml", "HorizontalPodAutoscaler", "autoscaling/v2")]
    [InlineData("pdb.yaml", "PodDisruptionBudget", "policy/v1")]
    public void Each_template_declares_the_manifest_kind_it_is_named_for(string template, string kind, string apiVersion)
    {
        _chart.KindsIn(template).Should().Contain(kind);
        _chart.DocumentOf(template, kind).Should().MatchRegex($@"(?m)^apiVersion:\s*{Regex.Escape(apiVersion)}\s*$");
    }

    [Fact]
    public void Every_object_carries_the_conventional_labels_and_role_objects_their_component()
    {
        var helpers = _chart.Templates["_helpers.tpl"];
        foreach (var label in new[] { "app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version", "app.kubernetes.io/managed-by", "app.kubernetes.io/component" })
        {
            helpers.Should().Contain($"{label}:");
        }

        foreach (var (template, text) in _chart.Templates.Where(t => !t.Key.StartsWith('_')))
        {
            text.Should().MatchRegex(@"include ""kannon\.(labels|roleLabels)""", $"{template} labels its objects");
        }

        foreach (var template in new[] { "deployment.yaml", "hpa.yaml", "pdb.yaml", "service-api.yaml", "service-tracker.yaml", "service-smtp.yaml", "migrate-job.yaml" })
        {
            _chart.Templates[template].Should().Contain("include \"kannon.roleLabels\"", $"{template} names its role in app.kubernetes.io/component");
        }
    }

    [Fact]
    public async Task The_deployment_template_covers_exactly_the_seven_roles_each_with_its_run_flag_from_kannon_help()
    {
        var deployment = _chart.Templates["deployment.yaml"];
        var roleList = Regex.Match(deployment, @"\$roleNames\s*:=\s*list((?:\s+""\w+"")+)");
        var templateRoles = Regex.Matches(roleList.Groups[1].Value, @"""(\w+)""").Select(m => m.Groups[1].Value).ToList();
        var roleFlags = new RoleOptions().Flags.Where(f => f.Name != "--run-all").Select(f => f.Name).ToList();
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await KannonCommandLine.RunAsync(["--help"], output, error);
        var helpFlags = Regex.Matches(output.ToString(), @"--run-[a-z]+").Select(m => m.Value).ToHashSet();

        roleList.Success.Should().BeTrue("the template names the roles it accepts");
        templateRoles.Select(r => $"--run-{r}").Should().BeEquivalentTo(roleFlags, "one Deployment per role flag kannon has");
        _chart.Roles.Children.Keys.Select(k => k.ToString()).Should().BeEquivalentTo(templateRoles, "values.yaml has a block per role");
        deployment.Should().MatchRegex(@"range \$name, \$role := \.Values\.roles").And.MatchRegex(@"(?m)^\s*args:\s*\n\s*- --run-\{\{ \$name \}\}\s*$");
        code.Should().Be(0);
        helpFlags.Should().Contain(templateRoles.Select(r => $"--run-{r}"));
    }

    [Fact]
    public async Task The_migrate_job_runs_kannon_migrate_as_a_pre_install_and_pre_upgrade_hook()
    {
        var job = _chart.DocumentOf("migrate-job.yaml", "Job");
        using var output = new StringWriter();
        await KannonCommandLine.RunAsync(["--help"], output, new StringWriter());

        Regex.Match(job, @"(?m)^\s*args:\s*\n\s*- (\S+)\s*$").Groups[1].Value.Should().Be("migrate");
        output.ToString().Should().MatchRegex(@"(?m)^\s*migrate\b", "migrate is a kannon command");
        Annotation(job, "helm.sh/hook").Split(',').Should().BeEquivalentTo("pre-install", "pre-upgrade");
        Annotation(job, "helm.sh/hook-delete-policy").Split(',').Should().BeEquivalentTo("before-hook-creation", "hook-succeeded");
        job.Should().Contain("restartPolicy: Never");
    }

    [Fact]
    public void The_migrate_jobs_own_database_secret_is_a_hook_made_before_the_job()
    {
        // Hooks run before the release's objects exist: the chart's Secret is not there yet at pre-install.
        var secret = _chart.DocumentOf("migrate-job.yaml", "Secret");
        var job = _chart.DocumentOf("migrate-job.yaml", "Job");

        Annotation(secret, "helm.sh/hook").Should().Be(Annotation(job, "helm.sh/hook"));
        int.Parse(Annotation(secret, "helm.sh/hook-weight"), System.Globalization.CultureInfo.InvariantCulture)
            .Should().BeLessThan(int.Parse(Annotation(job, "helm.sh/hook-weight"), System.Globalization.CultureInfo.InvariantCulture));
        secret.Should().Contain("KANNON_DATABASE_URL:");
        job.Should().MatchRegex(@"secretKeyRef:\s*\n\s*name: \{\{ \$secretName \}\}\s*\n\s*key: KANNON_DATABASE_URL");
        job.Should().NotContain("configMapRef").And.NotContain("name: {{ include \"kannon.secretName\"");
    }

    [Fact]
    public void The_probes_check_healthz_for_liveness_and_readyz_for_readiness_on_the_http_port()
    {
        var liveness = _chart.ProbeHttpGet("livenessProbe");
        var readiness = _chart.ProbeHttpGet("readinessProbe");
        var deployment = _chart.Templates["deployment.yaml"];

        liveness["path"].Should().Be("/healthz");
        readiness["path"].Should().Be("/readyz");
        liveness["port"].Should().Be("http");
        readiness["port"].Should().Be("http");
        deployment.Should().MatchRegex(@"- name: http\s*\n\s*containerPort: \{\{ \$\.Values\.config\.http\.port \}\}");
        HelmChart.Scalar(_chart.Values, "config.http.port").Should().Be("8080");
    }

    [Fact]
    public void The_services_carry_grpc_to_the_api_http_to_the_tracker_and_port_25_to_the_smtp_pods_2525()
    {
        var deployment = _chart.Templates["deployment.yaml"];

        _chart.DocumentOf("service-api.yaml", "Service").Should().Contain("targetPort: grpc").And.MatchRegex(@"appProtocol: \S+");
        HelmChart.Scalar(_chart.Values, "service.api.appProtocol").Should().BeOneOf("kubernetes.io/h2c", "grpc");
        deployment.Should().MatchRegex(@"- name: grpc\s*\n\s*containerPort: \{\{ \$\.Values\.config\.api\.port \}\}");
        HelmChart.Scalar(_chart.Values, "service.api.port").Should().Be("50051");

        _chart.DocumentOf("service-tracker.yaml", "Service").Should().Contain("targetPort: http");
        HelmChart.Scalar(_chart.Values, "service.tracker.port").Should().Be("8080");

        _chart.DocumentOf("service-smtp.yaml", "Service").Should().Contain("targetPort: smtp").And.Contain("port: {{ .Values.service.smtp.port }}");
        deployment.Should().MatchRegex(@"- name: smtp\s*\n\s*containerPort: \{\{ include ""kannon\.smtpPort"" \$ \}\}");
        _chart.Templates["_helpers.tpl"].Should().Contain(".Values.config.smtp.address");
        HelmChart.Scalar(_chart.Values, "service.smtp.port").Should().Be("25");
        HelmChart.Scalar(_chart.Values, "config.smtp.address").Should().Be(":2525", "a non-root pod cannot listen on 25");
    }

    [Fact]
    public void Only_the_sender_and_dispatcher_have_an_autoscaler_and_it_is_off_by_default()
    {
        var withHpa = _chart.Roles.Children.Where(r => HelmChart.Resolve(r.Value, ["hpa"]) is not null).Select(r => r.Key.ToString());

        withHpa.Should().BeEquivalentTo("sender", "dispatcher");
        foreach (var role in new[] { "sender", "dispatcher" })
        {
            HelmChart.Scalar(_chart.Roles, $"{role}.hpa.enabled").Should().Be("false");
            int.Parse(HelmChart.Scalar(_chart.Roles, $"{role}.hpa.minReplicas"), System.Globalization.CultureInfo.InvariantCulture)
                .Should().BeLessThanOrEqualTo(int.Parse(HelmChart.Scalar(_chart.Roles, $"{role}.hpa.maxReplicas"), System.Globalization.CultureInfo.InvariantCulture));
        }

        _chart.DocumentOf("hpa.yaml", "HorizontalPodAutoscaler").Should().Contain("name: cpu").And.Contain("averageUtilization: {{ $role.hpa.targetCPUUtilizationPercentage }}");
        _chart.Templates["deployment.yaml"].Should().MatchRegex(@"if not \$autoscaled \}\}\s*\n\s*replicas:", "an autoscaled Deployment leaves replicas to its HPA");
    }

    [Fact]
    public void A_role_gets_a_disruption_budget_of_one_pod_only_when_it_runs_more_than_one()
    {
        var pdb = _chart.Templates["pdb.yaml"];

        pdb.Should().Contain("gt (int $replicas) 1").And.Contain("minAvailable: {{ $role.pdb.minAvailable }}");
        SevenRoles.Select(r => HelmChart.Scalar(_chart.Roles, $"{r}.pdb.minAvailable")).Should().AllBe("1");
    }

    [Fact]
    public void The_secret_is_the_charts_own_unless_an_existing_secret_is_named()
    {
        var secret = _chart.Templates["secret.yaml"];

        secret.Should().StartWith("{{- if not .Values.secrets.existingSecret }}");
        foreach (var key in new[] { "KANNON_DATABASE_URL", "KANNON_NATS_URL", "KANNON_API__ADMIN_TOKEN" })
        {
            secret.Should().Contain($"{key}:");
        }

        _chart.Templates["_helpers.tpl"].Should().Contain(".Values.secrets.existingSecret | default (include \"kannon.fullname\" .)");
        _chart.Templates["deployment.yaml"].Should().MatchRegex(@"secretRef:\s*\n\s*name: \{\{ include ""kannon\.secretName"" \$ \}\}")
            .And.MatchRegex(@"configMapRef:\s*\n\s*name: \{\{ include ""kannon\.fullname"" \$ \}\}");
    }

    private static string Annotation(string document, string name) =>
        Regex.Match(document, $@"(?m)^\s*{Regex.Escape(name)}:\s*""?([^""\s]+)""?\s*$").Groups[1].Value;
}
