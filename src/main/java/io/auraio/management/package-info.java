/**
 * JMX management of AuraIO engines: the MXBean interfaces, and the records their attributes are
 * made of, which JMX maps to open types ({@code CompositeData}), so that jconsole, the
 * Prometheus JMX exporter or any other JMX client reads them without AuraIO on its class path.
 *
 * <p>Every open {@link io.auraio.Engine} registers on the platform MBean server, and
 * unregisters when it is closed:
 * <ul>
 *   <li>{@code io.auraio:type=Engine,name=<name>}: an {@link EngineMXBean};</li>
 *   <li>{@code io.auraio:type=Ring,engine=<name>,ring=<index>}: a {@link RingMXBean} per ring,
 *       flat numeric attributes for tools that want one series per ring.</li>
 * </ul>
 * The name is {@link io.auraio.Options#name()}: {@code default} for the default engine,
 * {@code engine-N} for an engine created without one.
 */
package io.auraio.management;
