using Prometheus;

namespace MqttIm.ImExtensions.Devices;

/// <summary>Prometheus metrics of the device hub.</summary>
internal static class DeviceMetrics
{
    public static readonly Counter Commands = Metrics.CreateCounter(
        "mqttim_device_commands_total", "Device commands by outcome: issued, succeeded, failed, rejected, timed_out, expired, canceled, retried.", "outcome");

    public static readonly Counter CommandStates = Metrics.CreateCounter(
        "mqttim_device_command_states_total", "Device command state changes by the state entered (sent, delivered, succeeded, …; a retry counts queued again).", "state");

    public static readonly Counter TelemetryPoints = Metrics.CreateCounter(
        "mqttim_device_telemetry_points_total", "Telemetry uplinks stored.");

    public static readonly Counter Alerts = Metrics.CreateCounter(
        "mqttim_device_alerts_total", "Device alerts handed to their owners, by priority (p0-p3).", "priority");

    public static readonly Gauge ConnectedDevices = Metrics.CreateGauge(
        "mqttim_devices_connected", "IoT devices connected to this node.");
}
