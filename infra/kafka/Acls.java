import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

/**
 * Creates the ACLs of acls.txt in one Admin request (kafka-acls would need a JVM start per line):
 * java -cp "libs/*" Acls.java admin.properties acls.txt
 */
public class Acls {
  public static void main(String[] args) throws Exception {
    Properties client = new Properties();
    try (var in = Files.newInputStream(Path.of(args[0]))) {
      client.load(in);
    }
    List<AclBinding> bindings = new ArrayList<>();
    for (String line : Files.readAllLines(Path.of(args[1]))) {
      String[] f = line.replaceAll("#.*", "").trim().split("\\s+");
      if (f.length < 5) continue; // principal operations resource-type pattern-type names
      for (String operation : f[1].split(",")) {
        for (String name : f[4].split(",")) {
          bindings.add(new AclBinding(
              new ResourcePattern(ResourceType.fromString(f[2]), name, PatternType.fromString(f[3])),
              new AccessControlEntry("User:" + f[0], "*", AclOperation.fromString(operation), AclPermissionType.ALLOW)));
        }
      }
    }
    try (Admin admin = Admin.create(client)) {
      admin.createAcls(bindings).all().get();
    }
    System.out.println(bindings.size() + " ACL bindings in place");
  }
}
